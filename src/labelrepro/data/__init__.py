"""Data loading (real torchvision datasets held on the training device) and batched augmentation."""

from labelrepro.data.augment import DeviceAugment, cutout, random_crop, random_hflip
from labelrepro.data.vision import (
    DATASET_INFO,
    DATASET_NAMES,
    DatasetInfo,
    DatasetUnavailableError,
    DeviceBatchLoader,
    DeviceDataset,
    get_dataset_info,
    load_device_dataset,
    load_vision_dataset,
)

__all__ = [
    "DATASET_INFO",
    "DATASET_NAMES",
    "DatasetInfo",
    "DatasetUnavailableError",
    "DeviceAugment",
    "DeviceBatchLoader",
    "DeviceDataset",
    "cutout",
    "get_dataset_info",
    "load_device_dataset",
    "load_vision_dataset",
    "random_crop",
    "random_hflip",
]
