"""The fields every method's config shares (shared.methods.base): declared once, defaults per method."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from shared.errors import ConfigError
from shared.methods import CONFIG_CLASSES, MethodConfig, parse_config
from shared.methods.base import MethodConfigBase
from shared.methods.n2n import N2NConfig
from shared.methods.n2v import N2VConfig

SHARED = ["method", "epochs", "lr", "augment", "plane", "drop_empty"]


def test_the_base_holds_the_shared_fields_and_both_configs_extend_it() -> None:
    assert list(MethodConfigBase.model_fields) == SHARED
    for config in (N2NConfig, N2VConfig):
        assert issubclass(config, MethodConfigBase)
        assert list(config.model_fields)[: len(SHARED)] == SHARED
        assert config.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("name", SHARED[1:])
def test_a_shared_field_has_one_type_bounds_and_description(name: str) -> None:
    """Both methods' schemas of a shared field differ at most in its default."""
    base = MethodConfigBase.model_fields[name]
    schemas = []
    for config in (N2NConfig, N2VConfig):
        field = config.model_fields[name]
        assert (field.annotation, field.metadata, field.description) == (
            base.annotation,
            base.metadata,
            base.description,
        )
        schema = dict(config.model_json_schema()["properties"][name])
        schema.pop("default")
        schemas.append(schema)
    assert schemas[0] == schemas[1]


def test_each_method_keeps_its_defaults_of_the_shared_fields() -> None:
    common = {"epochs": 150, "plane": "acquisition", "drop_empty": True}
    assert N2NConfig().model_dump(include=set(SHARED)) == {
        **common,
        "method": "n2n",
        "lr": 1e-4,
        "augment": False,
    }
    assert N2VConfig().model_dump(include=set(SHARED)) == {
        **common,
        "method": "n2v",
        "lr": 4e-4,
        "augment": True,
    }


def test_the_bounds_of_a_shared_field_hold_for_both_methods() -> None:
    for method in CONFIG_CLASSES:
        with pytest.raises(ConfigError, match="lr") as refused:
            parse_config(method, {"lr": 2.0, "epochs": 0})
        assert "epochs" in str(refused.value)


def test_the_published_schema_keeps_the_union_and_every_field() -> None:
    """The union is still discriminated on `method`, and each config still publishes the same fields."""
    union = TypeAdapter(MethodConfig).json_schema()
    assert union["discriminator"] == {
        "propertyName": "method",
        "mapping": {"n2n": "#/$defs/N2NConfig", "n2v": "#/$defs/N2VConfig"},
    }
    n2n_own = {"batch_size", "crop_size", "beta1", "beta2", "eps", "rampdown", "loss", "seed"}
    n2n_own |= {"steps_per_epoch", "targets", "context", "residual", "recorruption", "resample_noise"}
    n2n_own |= {"amp", "tile", "tile_overlap", "noise_map", "start"}
    n2v_own = {"steps_per_epoch", "batch_size", "patch_size", "dims", "n2v2", "seed", "rampdown", "loss"}
    n2v_own |= {"unet_kern_size", "unet_n_depth", "unet_n_first", "batch_norm", "n2v_perc_pix"}
    n2v_own |= {"n2v_manipulator", "n2v_neighborhood_radius", "struct_n2v_mask", "tensorboard"}
    assert set(union["$defs"]["N2NConfig"]["properties"]) == {*SHARED, *n2n_own}
    assert set(union["$defs"]["N2VConfig"]["properties"]) == {*SHARED, *n2v_own}
    for name in ("N2NConfig", "N2VConfig"):
        assert "required" not in union["$defs"][name]
        assert union["$defs"][name]["additionalProperties"] is False
