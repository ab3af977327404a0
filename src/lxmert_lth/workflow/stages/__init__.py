"""The workflow's stages: one module per ``rules/*.smk`` file, one function per rule.

Each function takes paths and parameters and writes its rule's declared outputs; the
scripts in ``workflow_scripts/`` call them through :func:`lxmert_lth.workflow.harness.run_job`.
"""
