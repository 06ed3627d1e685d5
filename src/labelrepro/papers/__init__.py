"""One package per paper. Each holds that paper's settings and trainers, methods, paper-only models,
aggregators and renderers; its `__init__` imports the declaration modules (settings, aggregators,
renderers), which register themselves (labelrepro.registry) without importing torch or matplotlib."""
