"""gradcli: run gradscript programs on a small autograd engine and show their gradients."""

__version__ = "0.1.0"
