"""Single images from `--dataroot` (one domain), for generating results with the test model."""
from data.base_dataset import BaseDataset, get_transform
from data.image_folder import load_rgb, make_dataset
from util.errors import UserError


class SingleDataset(BaseDataset):
    """Every image under `--dataroot`; returns {'A': (C, H, W) in [-1, 1], 'A_paths'}."""

    def __init__(self, opt):
        BaseDataset.__init__(self, opt)
        self.A_paths = sorted(make_dataset(opt.dataroot, opt.max_dataset_size))
        if not self.A_paths:
            raise UserError(f"no images in {opt.dataroot}; pass --dataroot pointing at a folder of images.")
        input_nc = opt.output_nc if opt.direction == "BtoA" else opt.input_nc
        self.transform = get_transform(opt, grayscale=(input_nc == 1))

    def __getitem__(self, index):
        A_path = self.A_paths[index]
        A = self.transform(load_rgb(A_path))
        return {"A": A, "A_paths": A_path}

    def __len__(self):
        return len(self.A_paths)
