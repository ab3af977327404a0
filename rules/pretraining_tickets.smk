# Pre-training tickets (study.kinds: pretraining; docs/method.md, "Do tickets transfer?"):
# IMP on the pre-training objectives, one job per level and seed. Each level continues
# the run's own pre-training from the pretrained weights under the previous level's mask
# and prunes the trained weights to its sparsity; only the masks are kept. Each task's
# kind "pretraining" fine-tunes them from its own theta_0.

PRETRAINING_LEVEL = os.path.join(R.PRETRAINING, "seed{seed}/low{sparsity}")


rule pretraining_ticket:
    input:
        unpack(R.pretraining_level_inputs),
    output:
        mask=res(PRETRAINING_LEVEL, "mask.safetensors"),
        history=res(PRETRAINING_LEVEL, "history.json"),
    log:
        logfile(f"{PRETRAINING_LEVEL}.log"),
        record=recordfile(f"{PRETRAINING_LEVEL}.json"),
    benchmark:
        benchfile(f"{PRETRAINING_LEVEL}.tsv")
    conda:
        ENV
    threads: EXECUTION["pretrain_threads"]
    resources:
        **R.requests.gpu_job_resources(
            "pretrain", epochs=STUDY["pretraining_ticket_epochs"]
        ),
    params:
        **R.pretraining_level_params(),
        torch_threads=EXECUTION["pretrain_threads"],
    script:
        "../workflow_scripts/pretraining_ticket.py"
