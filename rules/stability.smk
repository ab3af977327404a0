# Are tickets stable? (stability.enabled; docs/method.md, "Are tickets stable?") Each pair:
# two copies of a network trained again from its starting point under its mask, each with
# a data-order seed of its own (a wildcard), then the straight line between them
# evaluated on the validation split. The copies' weights are temporary: the line job is
# the only reader.

STABILITY_COPY = os.path.join(R.STABILITY, "order{order}")


rule stability_copy:
    input:
        unpack(lambda wc: R.training_data()),
        unpack(R.copy_inputs),
    output:
        start=temp(res(STABILITY_COPY, "start.safetensors")),
        model=temp(res(STABILITY_COPY, "model.safetensors")),
        scores=res(STABILITY_COPY, "scores.json"),
        history=res(STABILITY_COPY, "history.json"),
    log:
        logfile(f"{STABILITY_COPY}.log"),
        record=recordfile(f"{STABILITY_COPY}.json"),
    benchmark:
        benchfile(f"{STABILITY_COPY}.tsv")
    wildcard_constraints:
        network=r"[a-z]+\d+",
        order=r"\d+",
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **R.requests.gpu_job_resources("finetune"),
    params:
        **R.finetune_params(),
        enforce_masks=PRUNING_OPTIONS.enforce_masks,
        resume_folder=R.copy_resume_folder,
    script:
        "../workflow_scripts/stability_copy.py"


# The dense network's copies start from theta_0 (or the step-K weights) as they are.
use rule stability_copy as stability_copy_dense with:
    output:
        model=temp(res(STABILITY_COPY, "model.safetensors")),
        scores=res(STABILITY_COPY, "scores.json"),
        history=res(STABILITY_COPY, "history.json"),
    wildcard_constraints:
        network="dense",
        order=r"\d+",


rule stability_line:
    input:
        unpack(R.line_inputs),
    output:
        res(R.STABILITY, "line.json"),
    log:
        logfile(R.STABILITY, "line.log"),
        record=recordfile(R.STABILITY, "line.json"),
    benchmark:
        benchfile(R.STABILITY, "line.tsv")
    conda:
        ENV
    threads: EXECUTION["train_threads"]
    resources:
        **R.requests.gpu_job_resources(
            "finetune", epochs=0, passes=config["stability"]["points"]
        ),
    params:
        **R.finetune_params(),
        orders=config["stability"]["orders"],
        points=config["stability"]["points"],
        resume_folder=None,  # a line is short: nothing to resume
    script:
        "../workflow_scripts/stability_line.py"


rule stability_report:
    input:
        R.all_lines(),
    output:
        csv=res("stability.csv"),
        md=res("stability.md"),
        html=report(
            res("stability.html"),
            caption="../report/stability.rst",
            category="Stability",
            labels={"view": "table"},
        ),
        lines_png=report(
            res("stability_lines.png"),
            caption="../report/stability.rst",
            category="Stability",
            labels={"view": "error along the line"},
        ),
        lines_pdf=res("stability_lines.pdf"),
        barrier_png=report(
            res("stability_barrier.png"),
            caption="../report/stability.rst",
            category="Stability",
            labels={"view": "barrier against sparsity"},
        ),
        barrier_pdf=res("stability_barrier.pdf"),
    log:
        logfile("stability_report.log"),
    conda:
        ENV
    params:
        threshold=config["stability"]["threshold"],
        table_sparsity=STUDY["table_sparsity"],
        dataset=DATASET.name,
    script:
        "../workflow_scripts/stability_report.py"
