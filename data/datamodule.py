"""``MNISTDataModule``: MNIST split as in the practical, held in memory, served a batch at a time.

Shape legend: B batch, 28 x 28 pixels.

Batches: train/val/test ``(x, y)`` with ``x`` float32 (B, 28, 28) in [0, 1] and ``y`` int64 (B,);
predict ``(x, index)`` with ``index`` int64 (B,) into ``predict_names``. The model owns the
sequence view and any normalisation, so a checkpoint alone can classify raw images.
"""

from __future__ import annotations

import math
import os

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from data.checks import check_fraction, check_int
from data.datasets import TensorPairDataset, passthrough_collate
from data.download import default_data_dir, ensure_downloaded, missing_data_message, missing_files
from data.errors import MNISTDataError
from data.folder import load_image_folder
from data.idx import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, raw_folder, read_split
from data.samplers import EpochShuffleSampler, eval_sampler

TEST_FILES = (TEST_IMAGES, TEST_LABELS)
MNIST_TRAIN_SIZE = 60_000


class MNISTDataModule(pl.LightningDataModule):
    """MNIST from torchvision's raw files: the practical's 55000/5000/10000 split, fast batches.

    Validation is the first ``val_size`` training images, training the rest (optionally only its
    first ``train_fraction``), test the 10000 test images. Each split is one float32 tensor
    converted once; batches are fetched whole by index. Training order is reshuffled every epoch
    from (``seed``, epoch) alone; val/test/predict keep their order and last partial batch, and
    under a distributed run score every image exactly once in total.

    Args:
        data_dir: root holding ``MNIST/raw/`` (torchvision's layout). Default: ``$MNIST_DATA_DIR``
            when set, else ``$XDG_CACHE_HOME/rnn-mnist`` (``~/.cache/rnn-mnist``).
            Missing files are downloaded there through torchvision when online.
        batch_size: images per batch (B), >= 1.
        val_size: how many of the first training images form the validation split, >= 1
            (validation decides early stopping and the best checkpoint); must leave at least
            one training image.
        train_fraction: in (0, 1]: train on only the first fraction of the training split, as
            the practical's ``MNISTFraction``.
        num_workers: DataLoader worker processes, >= 0. Batches are cheap slices, so 0 is
            usually fastest.
        pin_memory: page-lock batches for faster copies to a GPU.
        on_device: move each split to the accelerator once and slice batches there (needs
            ``num_workers=0``; does nothing on CPU).
        seed: seed of the training order (the order of epoch e is a function of seed and e).
        predict_dir: a folder of PNG/JPEG digit images to classify in ``predict``; None
            classifies the test set. Unreadable images are listed in ``predict_failures``.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        batch_size: int = 100,
        val_size: int = 5000,
        train_fraction: float = 1.0,
        num_workers: int = 0,
        pin_memory: bool = False,
        on_device: bool = False,
        seed: int = 0,
        predict_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.batch_size = check_int("batch_size", batch_size, 1)
        if val_size == 0 and not isinstance(val_size, bool):
            raise MNISTDataError(
                "val_size must be >= 1, got 0: the validation loss decides early stopping, the "
                "best checkpoint and the plateau learning-rate schedule"
            )
        self.val_size = check_int("val_size", val_size, 1, MNIST_TRAIN_SIZE - 1)
        self.num_workers = check_int("num_workers", num_workers, 0)
        self.seed = check_int("seed", seed, 0)
        check_fraction("train_fraction", train_fraction)
        if on_device and num_workers > 0:
            raise MNISTDataError(
                f"on_device=True needs num_workers=0 (got num_workers={num_workers}): "
                "worker processes cannot share accelerator tensors"
            )
        if on_device and pin_memory:
            raise MNISTDataError(
                "pin_memory=True and on_device=True exclude each other: with on_device the "
                "batches are already on the accelerator"
            )
        self.train_fraction = float(train_fraction)
        self.data_dir = os.path.expanduser(str(data_dir)) if data_dir else default_data_dir()
        self.pin_memory = bool(pin_memory)
        self.on_device = bool(on_device)
        self.predict_dir = predict_dir
        self.predict_names: list[str] = []
        self.predict_failures: list[tuple[str, str]] = []
        self.predict_labels: list[int] | None = None
        self._splits: dict[str, TensorPairDataset] = {}

    # -- loading ---------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Download the raw files when any is missing (rank 0 only); assigns no state."""
        stage = self._trainer_fn()
        if self.predict_dir is not None and stage == "predict":
            return  # classifying a folder needs no MNIST
        # test reads only the test files: it runs where just those were copied
        ensure_downloaded(self.data_dir, TEST_FILES if stage == "test" else None)

    def setup(self, stage: str | None = None) -> None:
        """Load and split what ``stage`` needs ("fit", "validate", "test", "predict" or None).

        Each split is loaded once: calling setup again reuses it.
        """
        if stage in (None, "fit", "validate"):
            self._load_train_and_val()
        if stage in (None, "test"):
            self._load_test()
        if stage in (None, "predict"):
            self._load_predict()

    def preload(self, *stages: str) -> None:
        """Read and check now every split ``stages`` will need, if the raw files are present.

        For a caller that knows more stages will follow (a fit that ends with a test), so a
        damaged file stops it before any training. Missing files are left to ``prepare_data``,
        which downloads all of them.
        """
        if missing_files(self.data_dir):
            return
        for stage in stages:
            self.setup(stage)

    def _read(self, images_name: str, labels_name: str) -> tuple[torch.Tensor, torch.Tensor]:
        missing = missing_files(self.data_dir, (images_name, labels_name))
        if missing:
            reason = f"{missing[0].name} is missing (no download ran)"
            raise MNISTDataError(missing_data_message(self.data_dir, reason))
        folder = raw_folder(self.data_dir)
        images, labels = read_split(folder / images_name, folder / labels_name)
        # One conversion per split, the same arithmetic as torchvision's ToTensor (float32 / 255),
        # by torch: vectorized over every core, where numpy's astype and divide take one
        x = torch.tensor(images, dtype=torch.float32).div_(255)
        y = torch.tensor(labels, dtype=torch.int64)
        return x, y

    def _load_train_and_val(self) -> None:
        if "train" in self._splits:
            return
        x, y = self._read(TRAIN_IMAGES, TRAIN_LABELS)
        if self.val_size >= len(x):
            raise MNISTDataError(
                f"val_size={self.val_size} leaves no training image: the training file holds "
                f"{len(x)} images (val_size must be at most {len(x) - 1})"
            )
        kept = math.floor((len(x) - self.val_size) * self.train_fraction)
        if kept < 1:
            raise MNISTDataError(
                f"train_fraction={self.train_fraction} keeps no image of the "
                f"{len(x) - self.val_size} in the training split"
            )
        end = self.val_size + kept
        self._splits["val"] = TensorPairDataset(x[: self.val_size], y[: self.val_size])
        self._splits["train"] = TensorPairDataset(x[self.val_size : end], y[self.val_size : end])

    def _load_test(self) -> None:
        if "test" not in self._splits:
            self._splits["test"] = TensorPairDataset(*self._read(TEST_IMAGES, TEST_LABELS))

    def _load_predict(self) -> None:
        if "predict" in self._splits:
            return
        if self.predict_dir is None:
            self._load_test()
            test = self._splits["test"]
            self.predict_names = [str(i) for i in range(len(test))]
            self.predict_labels = test.targets.tolist()
            self.predict_failures = []
            images = test.inputs
        else:
            images, self.predict_names, self.predict_failures = load_image_folder(self.predict_dir)
            self.predict_labels = None
        self._splits["predict"] = TensorPairDataset(images, torch.arange(len(images)))

    # -- loaders ---------------------------------------------------------------------------

    def train_dataloader(self) -> DataLoader:
        dataset = self._dataset("train", "fit")
        return self._loader(dataset, sampler=EpochShuffleSampler(len(dataset), self.seed))

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("val", "fit' or 'validate"))

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("test", "test"))

    def predict_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("predict", "predict"))

    def _dataset(self, split: str, stage: str) -> TensorPairDataset:
        if split not in self._splits:
            raise MNISTDataError(f"the {split} split is not loaded: call setup('{stage}') first")
        if self.on_device:
            self._splits[split] = self._splits[split].to(self._device())
        return self._splits[split]

    def _eval_loader(self, dataset: TensorPairDataset) -> DataLoader:
        trainer = self._trainer
        kwargs = trainer.distributed_sampler_kwargs if trainer is not None else None
        return self._loader(dataset, sampler=eval_sampler(dataset, kwargs))

    def _loader(self, dataset: TensorPairDataset, sampler) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            collate_fn=passthrough_collate,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def _device(self) -> torch.device:
        """Where ``on_device`` keeps the data: the trainer's device, else CUDA when present."""
        if self._trainer is not None:
            return self._trainer.strategy.root_device
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    @property
    def _trainer(self) -> pl.Trainer | None:
        return getattr(self, "trainer", None)

    def _trainer_fn(self) -> str | None:
        trainer = self._trainer
        return None if trainer is None or trainer.state.fn is None else trainer.state.fn.value
