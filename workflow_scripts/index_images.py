"""Snakemake script: the index of the image files a family that reads pixels reads."""

from lxmert_lth.workflow.harness import run_job
from lxmert_lth.workflow.stages.data import index_images

folder = snakemake.input.get("folder")  # VQA v2: the COCO files of the questions' images
run_job(
    snakemake,
    index_images,
    out_json=snakemake.output[0],
    processing=snakemake.params.processing,
    questions=[snakemake.input[s] for s in ("train", "val", "test")] if folder else None,
    folder=folder,
)
