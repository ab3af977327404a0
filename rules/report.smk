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


rule table1:
    input:
        res("scores.csv"),
    output:
        csv=res("table1.csv"),
        md=report(res("table1.md"), category="Table 1"),
    log:
        logfile("table1.log"),
    conda:
        ENV
    params:
        sparsity=STUDY["table_sparsity"],
        kinds=STUDY["kinds"],
        dataset=config["dataset"]["name"],
        split=EVAL_SPLIT,
    script:
        "../workflow_scripts/table1.py"


rule figure1:
    input:
        res("scores.csv"),
    output:
        png=report(res("figure1.png"), category="Figure 1"),
        pdf=res("figure1.pdf"),
    log:
        logfile("figure1.log"),
    conda:
        ENV
    params:
        kinds=STUDY["kinds"],
        dataset=config["dataset"]["name"],
        split=EVAL_SPLIT,
    script:
        "../workflow_scripts/figure1.py"
