"""kelora: a log processor with a small scripting language, built to pseudonymize logs."""

__version__ = "0.1.0"
