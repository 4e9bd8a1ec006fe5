"""Chapter 6, *Multimodal tokenization* (``book/tokenization/index.md``).

Are image tokens a language? The chapter measures words, spatial patch tokens and coarse-to-fine tokens with the
same statistics -- Zipf slope, entropy and how much order matters (:mod:`~causal_lessons.tokenization.token_stats`)
-- builds the tokenizers (:mod:`~causal_lessons.tokenization.tokenizers`), and in the lab trains a small VQ-VAE
(:mod:`~causal_lessons.tokenization.vqvae`) and a tiny autoregressive transformer over two token orders
(:mod:`~causal_lessons.tokenization.tiny_gpt`). Its claim rows: :mod:`~causal_lessons.tokenization.claims`.
"""
