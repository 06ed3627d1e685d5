"""What every paper's trainers share: the job (what to train, how, where to write it), the one training
loop (checkpoint, resume, progress, atomic write), optimisers and schedules, CIFAR/MNIST image pipelines,
early stopping and aggregation. Nothing here imports a paper."""
