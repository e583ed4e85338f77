"""The measurement and reproduction tools behind ``scripts/``, not installed with the packages:
``python scripts/<name>.py`` puts ``scripts/`` first on ``sys.path``, so ``lab`` imports."""
