#!/usr/bin/python3
"""scale_peer.py - the PyTorch peer (../shared/peers/train_peer.py, unchanged) on the 1m rung of
bench_scale.sh: its ml-100k constants set to the rung's shape, its data folder
to the rung's u.data (the first 90% of the ratings, as harvest trains on), and
its top-K evaluation skipped (it scores 20,001 movies for every pair; only the
epoch time is compared). Usage: scale_peer.py PEERS_DIR DATA_DIR USERS MOVIES -- train_peer args"""
import sys
peers, data, users, movies = sys.argv[1:5]
sys.path.insert(0, peers)
import train_peer as t
t.DATA, t.N_USERS, t.N_MOVIES = data, int(users), int(movies)
t.topk_hits = lambda fn, pairs, chunk=4096: {f"top_{k}": float("nan") for k in t.KS}
sys.argv = ["train_peer.py"] + sys.argv[6:]
t.main()
