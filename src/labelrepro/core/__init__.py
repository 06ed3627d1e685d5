"""Training core shared by every paper: I/O, seeding, devices, checkpoints, progress, metadata."""
