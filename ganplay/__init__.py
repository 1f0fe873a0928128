"""ganplay: watch Generative Adversarial Networks learn."""
__version__ = "0.1.0"
