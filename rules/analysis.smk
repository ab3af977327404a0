# Where the tickets prune: every mask's sparsity per module of the model (its encoders:
# LXMERT's language, vision and cross-modality ones; attention against feed-forward; per
# layer), and how much
# of each low-magnitude mask the random mask of the same seed and sparsity prunes too.


rule module_sparsity:
    input:
        R.all_mask_files(),
    output:
        csv=res("module_sparsity.csv"),
        md=res("module_sparsity.md"),
        html=report(
            res("module_sparsity.html"),
            caption="../report/module_sparsity.rst",
            category="Where the ticket prunes",
            labels={"view": "table", "sparsity": str(STUDY["table_sparsity"])},
        ),
        png=report(
            res("module_sparsity.png"),
            caption="../report/module_sparsity.rst",
            category="Where the ticket prunes",
            labels={"view": "figure", "sparsity": str(STUDY["table_sparsity"])},
        ),
        pdf=res("module_sparsity.pdf"),
    log:
        logfile("module_sparsity.log"),
    conda:
        ENV
    params:
        family=FAMILY.name,
        sparsity=STUDY["table_sparsity"],
        kinds=STUDY["kinds"],
        caption=(
            f"Share of each module's prunable weights pruned at "
            f"{STUDY['table_sparsity']}% sparsity, mean over seeds {STUDY['seeds']}"
        ),
    script:
        "../workflow_scripts/module_sparsity.py"
