rule collect_scores:
    input:
        all_score_files(),
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
        server=lambda wc: list(server_results().values()),
    output:
        csv=res("table1.csv"),
        md=report(res("table1.md"), caption="../report/table1.rst", category="Table 1"),
    log:
        logfile("table1.log"),
    conda:
        ENV
    params:
        sparsity=STUDY["table_sparsity"],
        kinds=STUDY["kinds"],
        dataset=DATASET,
        split=SCORED.label,
        server=lambda wc: server_results(),
    script:
        "../workflow_scripts/table1.py"


rule figure1:
    input:
        res("scores.csv"),
    output:
        png=report(
            res("figure1.png"), caption="../report/figure1.rst", category="Figure 1"
        ),
        pdf=res("figure1.pdf"),
    log:
        logfile("figure1.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        dataset=DATASET,
        split=SCORED.label,
    script:
        "../workflow_scripts/figure1.py"


rule compare_with_paper:
    input:
        scores=res("scores.csv"),
        server=lambda wc: list(server_results().values()),
    output:
        csv=res("comparison.csv"),
        md=report(
            res("comparison.md"),
            caption="../report/comparison.rst",
            category="Comparison with the paper",
        ),
    log:
        logfile("compare_with_paper.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        split=SCORED.label,
        server=lambda wc: server_results(),
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
        md=report(
            res("runs.md"), caption="../report/runs.rst", category="Runs compared"
        ),
        png=report(
            res("runs.png"), caption="../report/runs.rst", category="Runs compared"
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
