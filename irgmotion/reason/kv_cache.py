"""A key/value cache that grows in place, for the batched decoder (decoding.py).

transformers' DynamicLayer concatenates a new tensor at every decoded token: the whole cache is copied per step,
and the memory freed and taken again, which made batched decoding pay more in copies and page faults than it
gained. This layer keeps a buffer with spare room, doubles it when full, and hands the model a view of the filled
part. The decoder also needs to move rows in and out: rows that end leave (`batch_select_indices`), a new prompt's
keys and values, computed apart, are written into a free row (`place`), and each row's entries are packed again to the
right when the columns hold too many holes (`gather`). Keys carry their rotary positions already, so where a row's entries sit
among the columns does not matter; the attention mask says which are its own.

The inference-only Llama (llm/llama_inference.py) gets a plain `GrowingCache` (importing transformers costs a command
about a second of start-up); a transformers model gets transformers' `Cache` of the same layers, since its mask code
asks its layers more (`get_mask_sizes`, `is_sliding`)."""
from __future__ import annotations

from functools import cache

import torch


class GrowingLayer:
    """One decoder layer's keys and values (batch, heads, columns, dim); `keys`/`values` view the filled columns."""

    def __init__(self):
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.is_initialized = False

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        self._keys, self._values = key_states[:, :, :0], value_states[:, :, :0]
        self._length = 0
        self.is_initialized = True

    def _reserve(self, need: int) -> None:
        room = self._keys.shape[-2]
        if need <= room:
            return
        size = max(need, 2 * room, 256)
        keys = self._keys.new_zeros(self._keys.shape[0], self._keys.shape[1], size, self._keys.shape[3])
        values = self._values.new_zeros(self._values.shape[0], self._values.shape[1], size, self._values.shape[3])
        keys[:, :, :self._length] = self._keys[:, :, :self._length]
        values[:, :, :self._length] = self._values[:, :, :self._length]
        self._keys, self._values = keys, values

    def _views(self) -> None:
        self.keys, self.values = self._keys[:, :, :self._length], self._values[:, :, :self._length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self._length + key_states.shape[-2]
        self._reserve(end)
        self._keys[:, :, self._length:end] = key_states
        self._values[:, :, self._length:end] = value_states
        self._length = end
        self._views()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._keys, self._values = self._keys[indices], self._values[indices]
        self._views()

    def get_seq_length(self) -> int:
        return self._length if self.is_initialized else 0

    def extend(self, n: int) -> None:
        """Add n empty columns at the end (masked for every row until a row's entries are placed there)."""
        self._reserve(self._length + n)
        self._keys[:, :, self._length:self._length + n] = 0
        self._values[:, :, self._length:self._length + n] = 0
        self._length += n
        self._views()

    def place(self, row: int, start: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write one row's entries (heads, n, dim) into columns start..start+n."""
        self._keys[row, :, start:start + keys.shape[-2]] = keys
        self._values[row, :, start:start + values.shape[-2]] = values

    def place_columns(self, row: int, columns: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write one row's entries (heads, n, dim) into the given columns (n,), in that order."""
        self._keys[row, :, columns] = keys
        self._values[row, :, columns] = values

    def gather(self, columns: torch.Tensor) -> None:
        """Keep, for each row b, the columns columns[b] (batch, width), in that order."""
        index = columns[:, None, :, None].to(self._keys.device)
        self._keys = self._keys.gather(2, index.expand(-1, self._keys.shape[1], -1, self._keys.shape[3]))
        self._values = self._values.gather(2, index.expand(-1, self._values.shape[1], -1, self._values.shape[3]))
        self._length = columns.shape[1]
        self._views()


class GrowingCache:
    """The cache as the inference-only Llama and the decoder use it: the same calls as transformers' `Cache`."""

    def __init__(self, num_layers: int):
        self.layers = [GrowingLayer() for _ in range(num_layers)]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int):
        return self.layers[layer_idx].update(key_states, value_states)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.layers[layer_idx].get_seq_length()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        for layer in self.layers:
            layer.batch_select_indices(indices)


class CacheRows:
    """Some rows of a GrowingCache, for a forward of those rows alone (the decoder's forced text): each layer's update
    returns the rows' keys and values with the new ones after them, and keeps the new ones (`new`) for the decoder to
    write into the shared cache where it chooses. The inference-only Llama's interface (`update`, `get_seq_length`)."""

    def __init__(self, cache: GrowingCache, rows: torch.Tensor):
        self.cache, self.rows = cache, rows
        self.new: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(cache.layers)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.cache.get_seq_length(layer_idx)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int):
        shared = self.cache.layers[layer_idx]
        self.new[layer_idx] = (key_states, value_states)
        return (torch.cat([shared.keys[self.rows], key_states], dim=2),
                torch.cat([shared.values[self.rows], value_states], dim=2))


@cache
def _transformers_layer() -> type:
    from transformers.cache_utils import DynamicLayer

    class GrowingDynamicLayer(GrowingLayer, DynamicLayer):
        """GrowingLayer's storage; DynamicLayer's answers to what else transformers asks."""

    return GrowingDynamicLayer


def growing_cache(model):
    """One growing layer per decoder layer of `model`."""
    n = getattr(model, "num_hidden_layers", None)  # the inference-only Llama (llm/llama_inference.py) states it
    if n is not None:
        return GrowingCache(n)
    from transformers.cache_utils import Cache
    layer = _transformers_layer()
    return Cache(layers=[layer() for _ in range(model.config.get_text_config(decoder=True).num_hidden_layers)])
