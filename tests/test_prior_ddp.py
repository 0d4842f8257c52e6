"""DDP on CPU (gloo, two spawned processes): ranks stay identical and match one process with the same global batch."""

import os
import socket

import torch
import torch.multiprocessing as mp

STEPS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.distributed import init_distributed, shutdown
    from gasp_ops.prior.trainer import train_prior
    from tests.prior_fixture import tiny_config, views_for

    info = init_distributed("cpu")
    assert info.active and info.world_size == world and info.rank == rank
    head = ProceduralHead()
    views = views_for(head, n_subjects=2, n_views=3)
    torch.set_num_threads(1)
    res = train_prior(tiny_config(steps=STEPS), views, head, None, dist_info=info, progress=False)
    torch.save({"state": res.model.state_dict(), "history": res.history}, f"{out}/rank{rank}.pt")
    shutdown(info)


def test_ddp_two_ranks_match_single_process(tmp_path):
    port = _free_port()
    mp.start_processes(_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True, start_method="spawn")
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k  # DDP keeps the replicas identical
    assert r0["history"] == r1["history"]

    from gasp_ops.headmodel.procedural import ProceduralHead
    from gasp_ops.prior.trainer import train_prior
    from tests.prior_fixture import tiny_config, views_for

    head = ProceduralHead()
    views = views_for(head, n_subjects=2, n_views=3)
    single = train_prior(tiny_config(steps=STEPS), views, head, None, progress=False)
    torch.testing.assert_close(torch.tensor(r0["history"]["total"]), torch.tensor(single.history["total"]),
                               rtol=1e-4, atol=1e-5)
    # Same updates up to float summation order. Adam (eps 1e-15, the 3DGS setting) normalises each step, so an entry
    # whose gradient is round-off (~1e-12, summed in another order in DDP's all-reduce) still moves by up to +-lr a
    # step, either way: per entry only |DDP - single| <= 2 lr per step holds. The quaternions' w and
    # in-plane-symmetric components have analytically zero gradient at the identity rotation (template_quats and
    # the decoder's quaternion head that feeds them): round-off only, bounded per entry. Every other parameter's
    # update (trained - init) must match as a whole: relative L2 difference <= 2e-2. Measured over views seeds 0-3
    # (torch 2.14.1, numpy 2.4.6) and 0-1 (torch 2.13.0 CPU, numpy 1.26.4): 7.7e-5 to 2.8e-3, with 0-6 of ~85,600
    # entries off by > 1e-3 (Adam sign flips). The former per-tensor rule (<= 2 % of entries off by > 1e-5)
    # measured 1.2-2.7 % on template_log_scales and failed on 3 of those 6 runs: it measured rounding, not DDP.
    init = train_prior(tiny_config(steps=STEPS), views, head, None, progress=False, stop_at=0).model.state_dict()
    num = den = 0.0
    for k, v in single.model.state_dict().items():
        if not v.is_floating_point():
            continue
        if k.startswith(("decoder.first", "codes", "features", "template_colors")):
            assert not torch.equal(v, init[k]), k  # training moved it
        diff = (r0["state"][k] - v).abs()
        lr_max = 1e-3 if k == "template_quats" else 3e-2  # the quaternions' rate; else the largest (codes)
        assert float(diff.max()) <= 2 * STEPS * lr_max + 1e-6, k
        if k == "template_quats" or k.startswith("decoder.branch_out.quats"):
            continue  # round-off-only gradients: bounded per entry only
        num += float(diff.pow(2).sum())
        den += float((v - init[k]).pow(2).sum())
    assert den > 0 and (num / den) ** 0.5 <= 2e-2, (num / den) ** 0.5
