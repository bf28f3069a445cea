#!/usr/bin/python3
"""rank_peer_same.py - PyTorch peer of Harvest's ranking model (src/model/rank.h), same architecture,
same split, same loss, same optimiser, for bench/bench_rank.sh.

  u = U[user] + AGE[age bucket] + GENDER[gender] + OCC[occupation]          (feature towers, dim D)
  m = M[movie] + YEAR[year // 5 * 5] + mean(GENRE[g] for g in the movie's genres)
  x = [u - U[user], m - M[movie], pop]   pop = log1p(train count) / log1p(max train count)
  r = mean + b_user + b_movie + <u, m> + Linear(H, 1)(relu(Linear(2D + 1, H)(x)))
  loss = mean((r - y)^2) + l2 * mean(|u|^2 + |m|^2)   Adam (dense, eps 1e-7 as Keras/Harvest)
Init as Harvest: id rows uniform(-0.05, 0.05), feature rows and biases 0, Linear layers PyTorch's default.
Split: u.data rows permuted with numpy RandomState(--seed 42), first round(0.8 n) train (Harvest's split).
Test RMSE/MAE on predictions clipped to [1, 5]. Last stdout line is a JSON summary.

Run: /usr/bin/python3 bench/rank_peer_same.py [--epochs 20 --lr 0.002 --batch 1024 --l2 0.08 --dim 32 --hidden 64]
"""
import argparse, json, os, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("ML100K", os.path.join(HERE, "..", "..", "shared", "data", "ml-100k"))
AGE_EDGES = [18, 25, 35, 45, 50, 56]  # MovieLens buckets 1, 18, 25, 35, 45, 50, 56


def load():
    d = np.loadtxt(os.path.join(DATA, "u.data"), dtype=np.int64)
    nu, nm = int(d[:, 0].max()), int(d[:, 1].max())
    uf = np.zeros((nu + 1, 3), dtype=np.int64)  # age, gender, occupation (0 = unknown)
    occ = {}
    with open(os.path.join(DATA, "u.user"), encoding="latin-1") as f:
        for line in f:
            uid, age, g, o, _ = line.rstrip("\n").split("|")
            uf[int(uid)] = (1 + np.searchsorted(AGE_EDGES, int(age), side="right"), 1 if g == "M" else 2,
                            occ.setdefault(o, len(occ) + 1))
    G = np.zeros((nm + 1, 19), dtype=np.float32)
    year = np.zeros(nm + 1, dtype=np.int64)
    years = {}
    with open(os.path.join(DATA, "u.item"), encoding="latin-1") as f:
        for line in f:
            p = line.rstrip("\n").split("|")
            mid = int(p[0])
            G[mid] = np.array(p[5:24], dtype=np.float32)
            y = p[2][-4:]
            if y.isdigit():
                year[mid] = years.setdefault(int(y) // 5 * 5, len(years) + 1)
    s = G.sum(1, keepdims=True)
    G = np.where(s > 0, G / np.maximum(s, 1), 0)  # mean of the genre rows
    return d, uf, G.astype(np.float32), year, len(occ) + 1, len(years) + 1, nu, nm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--l2", type=float, default=0.08)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()

    import torch
    nn = torch.nn
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    d, uf, G, year, n_occ, n_year, nu, nm = load()
    d = d[np.random.RandomState(a.seed).permutation(len(d))]
    n_train = int(round(0.8 * len(d)))
    tr, te = d[:n_train], d[n_train:]
    mean = float(tr[:, 2].mean())
    cnt = np.bincount(tr[:, 1], minlength=nm + 1).astype(np.float64)
    pop = torch.from_numpy((np.log1p(cnt) / np.log1p(cnt.max())).astype(np.float32))
    UF, GM, YR = torch.from_numpy(uf), torch.from_numpy(G), torch.from_numpy(year)
    D, H = a.dim, a.hidden

    class Rank(nn.Module):
        def __init__(s):
            super().__init__()
            s.U, s.M = nn.Embedding(nu + 1, D), nn.Embedding(nm + 1, D)
            s.age, s.gen, s.occ = nn.Embedding(9, D), nn.Embedding(3, D), nn.Embedding(n_occ, D)
            s.yr, s.genre = nn.Embedding(n_year, D), nn.Linear(19, D, bias=False)
            s.ub, s.mb = nn.Embedding(nu + 1, 1), nn.Embedding(nm + 1, 1)
            s.l1, s.l2 = nn.Linear(2 * D + 1, H), nn.Linear(H, 1)
            for e in (s.U, s.M):
                nn.init.uniform_(e.weight, -0.05, 0.05)
            for e in (s.age, s.gen, s.occ, s.yr, s.ub, s.mb):
                nn.init.zeros_(e.weight)
            nn.init.zeros_(s.genre.weight)

        def forward(s, u, m):
            f = UF[u]
            uf_ = s.age(f[:, 0]) + s.gen(f[:, 1]) + s.occ(f[:, 2])
            mf_ = s.yr(YR[m]) + s.genre(GM[m])
            uv, mv = s.U(u) + uf_, s.M(m) + mf_
            x = torch.cat([uf_, mf_, pop[m].unsqueeze(1)], 1)
            r = mean + s.ub(u).squeeze(1) + s.mb(m).squeeze(1) + (uv * mv).sum(1)
            return r + s.l2(torch.relu(s.l1(x))).squeeze(1), uv, mv

    model = Rank()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
    tu, tm = torch.from_numpy(tr[:, 0]), torch.from_numpy(tr[:, 1])
    ty = torch.from_numpy(tr[:, 2]).float()
    g = torch.Generator().manual_seed(0)
    times = []
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(tu), generator=g)
        tot = 0.0
        for s in range(0, len(perm), a.batch):
            idx = perm[s:s + a.batch]
            p, uv, mv = model(tu[idx], tm[idx])
            loss = ((p - ty[idx]) ** 2).mean() + a.l2 * (uv.pow(2).sum(1).mean() + mv.pow(2).sum(1).mean())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
        times.append(time.perf_counter() - t0)
        print(f"epoch {ep + 1}/{a.epochs} loss {tot / len(tu):.4f} time {times[-1]:.3f}s", flush=True)
    with torch.no_grad():
        p, _, _ = model(torch.from_numpy(te[:, 0]), torch.from_numpy(te[:, 1]))
        err = p.clamp(1, 5).numpy() - te[:, 2]
    res = {"rmse": float(np.sqrt((err ** 2).mean())), "mae": float(np.abs(err).mean())}
    print(f"test rmse={res['rmse']:.4f} mae={res['mae']:.4f}")
    out = vars(a).copy()
    out.update(torch=torch.__version__, epoch_time_s=[round(t, 4) for t in times],
               epoch_time_mean_s=round(float(np.mean(times)), 4), test=res)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
