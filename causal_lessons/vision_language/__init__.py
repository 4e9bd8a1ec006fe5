"""Chapter 5, *Vision-language models: a toy CLIP, prompts that forget, and equivariant similarity*
(``book/vision_language/index.md``).

A toy CLIP is trained inside the course on synthetic two-object scenes with captions such as "a red circle left
of a blue square" (:mod:`~causal_lessons.vision_language.scenes`): a small CNN image encoder and two text
encoders, a bag of words and an order-aware GRU, at matched parameter counts
(:mod:`~causal_lessons.vision_language.encoders`), trained with CLIP's symmetric InfoNCE loss and a learnable
temperature (:mod:`~causal_lessons.vision_language.contrastive`). Swap pairs of held-out object combinations are
scored as Winoground does (text, image and group scores), a bag of words provably scores 0 on them, and EqBen's
equivariant similarity loss EqSim is added in fine-tuning (:mod:`~causal_lessons.vision_language.scores`). CoOp tunes
a prompt's context on base classes with the encoders frozen, and ProGrad removes the part of each update that
conflicts with the hand-written prompt's prediction; the chapter measures whether new classes are forgotten
(:mod:`~causal_lessons.vision_language.prompts`). A VQA-CP-style split shows the right answer for the wrong
reason (:mod:`~causal_lessons.vision_language.vqa`). The chapter's claim rows:
:mod:`~causal_lessons.vision_language.claims`; the lab's sizes: :mod:`~causal_lessons.vision_language.lab`.
"""
