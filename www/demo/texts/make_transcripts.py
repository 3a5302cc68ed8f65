#!/usr/bin/env python3
"""Writes transcripts.txt: demo task transcripts ("prompt" + "answer", one a line, as the
models were trained on them), 40 of each task taken round-robin from the held-out files'
examples 100-139, so both halves of the text mix all four tasks.

    python3 www/demo/texts/make_transcripts.py
"""
import json
import pathlib

HERE = pathlib.Path(__file__).parent
TASKS = ["descending", "sorting", "successors", "unique"]

examples = {
    task: [json.loads(line) for line in (HERE / "../tasks" / f"{task}.jsonl").read_text().splitlines()]
    for task in TASKS
}
lines = []
for i in range(100, 140):
    for task in TASKS:
        example = examples[task][i]
        lines.append(example["prompt"] + example["answer"])
(HERE / "transcripts.txt").write_text("\n".join(lines) + "\n")
