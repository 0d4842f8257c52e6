"""A head model's CPU twin, made once per head and kept: tracking and the output figures run on the CPU, while a warm
service keeps its head on the GPU for fitting.

``head.to("cpu")`` moves an ``nn.Module`` in place, so calling it on a caller's GPU head moved that head away from
under the caller (``InstantEnroller`` moved it back at each request: three head transfers per photo). ``on_cpu``
leaves the head where it is and returns a CPU copy, cached per head object (head models are fixed arrays, never
trained, so the copy stays valid for the head's lifetime).
"""

from __future__ import annotations

import copy
import weakref

_CPU_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def on_cpu(head):
    """``head`` itself when its template [V, 3] is on the CPU, else its cached CPU copy (made on first use)."""
    if head.template.device.type == "cpu":
        return head
    twin = _CPU_COPIES.get(head)
    if twin is None:
        twin = copy.deepcopy(head).to("cpu")
        _CPU_COPIES[head] = twin
    return twin
