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
    # Same updates up to float summation order. Adam's normalised step turns a ~1e-12 gradient (summed in another
    # order) into a full +-lr step, so a few near-zero-gradient entries may differ by up to 2 lr per step; all the
    # others must agree to 1e-5.
    init = train_prior(tiny_config(steps=STEPS), views, head, None, progress=False, stop_at=0).model.state_dict()
    for k, v in single.model.state_dict().items():
        if not v.is_floating_point():
            continue
        if k.startswith(("decoder.first", "codes", "features", "template_colors")):
            assert not torch.equal(v, init[k]), k  # training moved it
        diff = (r0["state"][k] - v).abs()
        if k == "template_quats":
            # w and the in-plane-symmetric axis have analytically zero gradient at the identity rotation; Adam
            # (eps 1e-15, the 3DGS setting) turns their round-off into +-lr steps in either run: bound them only.
            assert float(diff.max()) <= 2 * STEPS * 1e-3 + 1e-6, k
            continue
        assert float((diff > 1e-5).float().mean()) <= 0.02, (k, float((diff > 1e-5).float().mean()))
        assert float(diff.max()) <= 2 * STEPS * 0.03 + 1e-6, k
