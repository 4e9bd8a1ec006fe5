"""Chapter 6, *Multimodal tokenization* (``book/tokenization/index.md``).

Are image tokens a language? The chapter measures words, spatial patch tokens and coarse-to-fine tokens with the
same statistics -- Zipf slope, entropy at equal vocabulary sizes, and how much order matters to held-out bigram
models (:mod:`~causal_lessons.tokenization.token_stats`) -- builds the tokenizers
(:mod:`~causal_lessons.tokenization.tokenizers`), and in the lab (:mod:`~causal_lessons.tokenization.lab`) trains a
small VQ-VAE (:mod:`~causal_lessons.tokenization.vqvae`) and a tiny autoregressive transformer over two scan orders
of its tokens, raster and dilated (:mod:`~causal_lessons.tokenization.tiny_gpt`). Its claim rows, the questions of
Chan et al. (2024) and of DDT (Pan et al., 2025) checked in toy proxies: :mod:`~causal_lessons.tokenization.claims`.
"""
