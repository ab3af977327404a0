rule collect_scores:
    input:
        R.all_score_files(),
    output:
        res("scores.csv"),
    log:
        logfile("collect_scores.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/collect_scores.py"


# EvalAI result files the user drops into {results}/evalai/seed{S}/{network}.json are
# inputs: adding one remakes Table 1 with test-dev and test-std columns.
rule table1:
    input:
        scores=res("scores.csv"),
        server=lambda wc: list(R.server_results().values()),
    output:
        csv=res("table1.csv"),
        md=res("table1.md"),
        html=report(
            res("table1.html"),
            caption="../report/table1.rst",
            category="Table 1",
            labels={"sparsity": str(STUDY["table_sparsity"]), "split": SCORED.label},
        ),
    log:
        logfile("table1.log"),
    conda:
        ENV
    params:
        sparsity=STUDY["table_sparsity"],
        kinds=STUDY["kinds"],
        dataset=DATASET.name,
        split=SCORED.label,
        server=lambda wc: R.server_results(),
        family=FAMILY.name,
    script:
        "../workflow_scripts/table1.py"


rule figure1:
    input:
        res("scores.csv"),
    output:
        png=report(
            res("figure1.png"),
            caption="../report/figure1.rst",
            category="Figure 1",
            labels={"split": SCORED.label},
        ),
        pdf=res("figure1.pdf"),
    log:
        logfile("figure1.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        dataset=DATASET.name,
        split=SCORED.label,
    script:
        "../workflow_scripts/figure1.py"


# Accuracy in and out of distribution, when the run has shifted sets (dataset.shift,
# dataset.ood): one panel per split, and the ticket's advantage per split and sparsity.
rule figure_ood:
    input:
        res("scores.csv"),
    output:
        png=report(
            res("figure_ood.png"),
            caption="../report/figure_ood.rst",
            category="Out of distribution",
            labels={"view": "figure"},
        ),
        pdf=res("figure_ood.pdf"),
        csv=res("ood.csv"),
        md=res("ood.md"),
        html=report(
            res("ood.html"),
            caption="../report/figure_ood.rst",
            category="Out of distribution",
            labels={"view": "table"},
        ),
    log:
        logfile("figure_ood.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        dataset=DATASET.name,
        split=SCORED.label,
    script:
        "../workflow_scripts/figure_ood.py"


rule compare_with_paper:
    input:
        scores=res("scores.csv"),
        server=lambda wc: list(R.server_results().values()),
    output:
        csv=res("comparison.csv"),
        md=res("comparison.md"),
        html=report(
            res("comparison.html"),
            caption="../report/comparison.rst",
            category="Comparison with the paper",
            labels={"split": "minival, test-dev, test-std"},
        ),
    log:
        logfile("compare_with_paper.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        split=SCORED.label,
        server=lambda wc: R.server_results(),
    script:
        "../workflow_scripts/compare_with_paper.py"


# Other runs beside this one (compare_runs: label -> results folder; this run's own folder
# may be among them): the scope ablation, the paper's text against the authors' code.
rule compare_runs:
    input:
        [
            os.path.join(folder, "scores.csv")
            for folder in config["compare_runs"].values()
        ],
    output:
        csv=res("runs.csv"),
        md=res("runs.md"),
        html=report(
            res("runs.html"),
            caption="../report/runs.rst",
            category="Runs compared",
            labels={"view": "table"},
        ),
        png=report(
            res("runs.png"),
            caption="../report/runs.rst",
            category="Runs compared",
            labels={"view": "figure"},
        ),
        pdf=res("runs.pdf"),
    log:
        logfile("compare_runs.log"),
    conda:
        ENV
    params:
        labels=list(config["compare_runs"]),
        sparsity=STUDY["table_sparsity"],
        split=SCORED.label,
    script:
        "../workflow_scripts/compare_runs.py"


# The compared runs' tickets by measured CPU speed-up and accuracy (each run's
# ticket_speed; machine-dependent, so under benchmarks/).
rule compare_speeds:
    input:
        [
            os.path.join(folder, "benchmarks", "speed.csv")
            for folder in config["compare_runs"].values()
        ],
    output:
        csv=res("benchmarks/runs_speed.csv"),
        md=res("benchmarks/runs_speed.md"),
        png=report(
            res("benchmarks/runs_speed.png"),
            caption="../report/runs_speed.rst",
            category="Runs compared",
            labels={"view": "accuracy vs. CPU speed-up"},
        ),
        pdf=res("benchmarks/runs_speed.pdf"),
    log:
        logfile("compare_speeds.log"),
    conda:
        ENV
    params:
        labels=list(config["compare_runs"]),
    script:
        "../workflow_scripts/compare_speeds.py"


# Every trained network's training loss and validation accuracy, one report item each
# (labelled by seed, kind and sparsity), an overview per kind, the pre-training's, and
# all of them as pages of one PDF.
rule training_curves:
    input:
        histories=[network_file(n, "history.json") for n in R.trained_networks()],
        scores=[network_file(n, "scores.json") for n in R.trained_networks()],
        pretrained=[res("pretrained")] if DATASET.small_model else [],
    output:
        curves=curve_outputs(),
        overview=report(
            res("curves/overview.png"),
            caption="../report/curves_overview.rst",
            category="Training curves",
            subcategory="overview",
            labels={"figure": "every sparsity, per kind"},
        ),
        pretraining=(
            [
                report(
                    res("curves/pretraining.png"),
                    caption="../report/curves_pretraining.rst",
                    category="Training curves",
                    subcategory="overview",
                    labels={"figure": "pre-training"},
                )
            ]
            if DATASET.small_model
            else []
        ),
        pdf=res("curves/curves.pdf"),
    log:
        logfile("training_curves.log"),
    conda:
        ENV
    params:
        folders=[n.folder for n in R.trained_networks()],
        kinds=STUDY["kinds"],
        split=SCORED.label,
    script:
        "../workflow_scripts/training_curves.py"


# What the run cost (from every benchmarked job) and what the paper configuration would
# at the same rate. Under benchmarks/: machine-dependent, so never among the outputs a
# rerun or another machine must reproduce.
rule job_costs:
    input:
        benchmarks=[path for _, path in R.benchmarked_jobs()],
        # The model's size from a theta_0 the run makes (study.dense_seed: the shared one).
        theta0=R.first_theta0(),
        questions=[res(f"data/{split}.json") for split in ("train", "val", "test")],
        paper=[os.path.join(workflow.basedir, c) for c in FAMILY.paper_configs],
    output:
        csv=res("benchmarks/costs.csv"),
        md=res("benchmarks/costs.md"),
        html=report(
            res("benchmarks/costs.html"),
            caption="../report/costs.rst",
            category="Costs",
            labels={"table": "per rule, and the paper configuration"},
        ),
    log:
        logfile("job_costs.log"),
    conda:
        ENV
    resources:
        mem_mb=R.requests.costs_memory,
    params:
        labels=[label for label, _ in R.benchmarked_jobs()],
        device=EXECUTION["device"],
    script:
        "../workflow_scripts/job_costs.py"


# Each subnetwork's speed on this machine's CPU against the dense network's, beside its
# accuracy (lxmert_lth.reporting.speed; machine-dependent, so under benchmarks/).
rule ticket_speed:
    input:
        unpack(R.speed_inputs),
    output:
        csv=res("benchmarks/speed.csv"),
        md=res("benchmarks/speed.md"),
        png=report(
            res("benchmarks/speed.png"),
            caption="../report/speed.rst",
            category="Costs",
            labels={"figure": "accuracy vs. CPU speed-up"},
        ),
        pdf=res("benchmarks/speed.pdf"),
    log:
        logfile("ticket_speed.log"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=R.requests.speed_memory,
    params:
        **R.task_params(),
        granularity=PRUNING_OPTIONS.granularity,
        max_length=config["tokenizer"]["max_length"],
        split=SCORED.label,
        questions=EXECUTION["speed_questions"],
        repeats=EXECUTION["speed_repeats"],
    script:
        "../workflow_scripts/ticket_speed.py"


# Tickets across tasks (compare_tasks: label -> the task's run and its transfer source):
# the transfer matrix and each target task's accuracy against sparsity.
rule compare_tasks:
    input:
        [
            os.path.join(run["results"], "scores.csv")
            for run in config["compare_tasks"].values()
        ],
    output:
        csv=res("tasks.csv"),
        md=res("tasks.md"),
        html=report(
            res("tasks.html"),
            caption="../report/tasks.rst",
            category="Tickets across tasks",
            labels={"view": "table"},
        ),
        png=report(
            res("tasks.png"),
            caption="../report/tasks.rst",
            category="Tickets across tasks",
            labels={"view": "figure"},
        ),
        pdf=res("tasks.pdf"),
    log:
        logfile("compare_tasks.log"),
    conda:
        ENV
    params:
        labels=list(config["compare_tasks"]),
        transfer_from={
            label: run["transfer_from"]
            for label, run in config["compare_tasks"].items()
        },
        sparsity=STUDY["table_sparsity"],
    script:
        "../workflow_scripts/compare_tasks.py"
