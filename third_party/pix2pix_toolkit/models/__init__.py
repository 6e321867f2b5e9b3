"""Model lookup by name.

`--model NAME` imports `models/NAME_model.py` and takes the class whose lower-cased
name is NAME without underscores plus "model" (`pix2pix` -> `Pix2PixModel`), a
subclass of `models.base_model.BaseModel`.
"""
import importlib
import os

from models.base_model import BaseModel
from util.errors import UserError


def available_models():
    """Names of the `models/<name>_model.py` modules in this package."""
    folder = os.path.dirname(__file__)
    return sorted(f[: -len("_model.py")] for f in os.listdir(folder)
                  if f.endswith("_model.py") and f != "base_model.py")


def find_model_using_name(model_name):
    """Return the BaseModel subclass defined in `models/<model_name>_model.py`."""
    module_name = f"models.{model_name}_model"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UserError(f"--model {model_name} does not exist (no {module_name.replace('.', '/')}.py); "
                        f"choose one of: {', '.join(available_models())}.") from None
    wanted = model_name.replace("_", "") + "model"
    for name, cls in vars(module).items():
        if name.lower() == wanted and isinstance(cls, type) and issubclass(cls, BaseModel):
            return cls
    raise UserError(f"{module_name.replace('.', '/')}.py defines no subclass of BaseModel whose lower-cased "
                    f"name is '{wanted}'; rename the class or fix --model.")


def get_option_setter(model_name):
    """The model class's static `modify_commandline_options(parser, is_train)`."""
    return find_model_using_name(model_name).modify_commandline_options


def create_model(opt):
    """Instantiate the model named by `--model` with the parsed options."""
    instance = find_model_using_name(opt.model)(opt)
    print(f"model [{type(instance).__name__}] was created")
    return instance
