"""Dataset lookup by name and the data loader the scripts iterate over.

`--dataset_mode NAME` imports `data/NAME_dataset.py` and takes the class whose
lower-cased name is NAME without underscores plus "dataset" (`aligned` ->
`AlignedDataset`), a subclass of `data.base_dataset.BaseDataset`.
"""
import importlib
import os

import torch.utils.data

from data.base_dataset import BaseDataset
from util import distributed
from util.errors import UserError


def available_dataset_modes():
    """Names of the `data/<name>_dataset.py` modules in this package."""
    folder = os.path.dirname(__file__)
    return sorted(f[: -len("_dataset.py")] for f in os.listdir(folder)
                  if f.endswith("_dataset.py") and f != "base_dataset.py")


def find_dataset_using_name(dataset_name):
    """Return the BaseDataset subclass defined in `data/<dataset_name>_dataset.py`."""
    module_name = f"data.{dataset_name}_dataset"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UserError(f"--dataset_mode {dataset_name} does not exist (no {module_name.replace('.', '/')}.py); "
                        f"choose one of: {', '.join(available_dataset_modes())}.") from None
    wanted = dataset_name.replace("_", "") + "dataset"
    for name, cls in vars(module).items():
        if name.lower() == wanted and isinstance(cls, type) and issubclass(cls, BaseDataset):
            return cls
    raise UserError(f"{module_name.replace('.', '/')}.py defines no subclass of BaseDataset whose "
                    f"lower-cased name is '{wanted}'; rename the class or fix --dataset_mode.")


def get_option_setter(dataset_name):
    """The dataset class's static `modify_commandline_options(parser, is_train)`."""
    return find_dataset_using_name(dataset_name).modify_commandline_options


def usable_workers(requested):
    """--num_threads capped at the CPUs this process may run on (torch warns about more, and they only
    compete for the same cores)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(int(requested), cpus))


def create_dataset(opt):
    """Build the dataset named by `--dataset_mode` and wrap it in a loader.

    Returns an object with `load_data()`, `__len__` and `__iter__` (batches as
    dicts of stacked tensors and lists of paths).
    """
    data_loader = CustomDatasetDataLoader(opt)
    return data_loader.load_data()


class CustomDatasetDataLoader:
    """A torch DataLoader over the chosen dataset that stops after `--max_dataset_size` samples.

    With a process group (torchrun, more than one process) each process reads
    its own share through a DistributedSampler; without one, a plain
    shuffling (or, with --serial_batches, sequential) loader is used.
    """

    def __init__(self, opt):
        self.opt = opt
        self.dataset = find_dataset_using_name(opt.dataset_mode)(opt)
        print(f"dataset [{type(self.dataset).__name__}] was created")
        size = min(len(self.dataset), opt.max_dataset_size)
        if size == 0:
            raise UserError(f"--dataroot {opt.dataroot} holds no images for --phase {opt.phase}; "
                            f"point --dataroot at a folder with a {opt.phase} subfolder of images.")
        if opt.isTrain and opt.batch_size > size:
            raise UserError(f"--batch_size {opt.batch_size} is larger than the {size} training images in "
                            f"{opt.dataroot}; pass --batch_size {size} or less.")
        shuffle = not opt.serial_batches
        self.sampler = None
        if distributed.is_distributed():
            self.sampler = torch.utils.data.distributed.DistributedSampler(self.dataset, shuffle=shuffle)
            shuffle = False  # the sampler shuffles
        self.dataloader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=opt.batch_size,
            shuffle=shuffle,
            sampler=self.sampler,
            num_workers=usable_workers(opt.num_threads),
        )

    def load_data(self):
        return self

    def set_epoch(self, epoch):
        """Give the DistributedSampler a new shuffle for each epoch (no-op without one)."""
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def __len__(self):
        """Number of samples in the dataset (all processes together)."""
        return min(len(self.dataset), self.opt.max_dataset_size)

    def __iter__(self):
        for i, batch in enumerate(self.dataloader):
            if i * self.opt.batch_size >= self.opt.max_dataset_size:
                break
            yield batch
