#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost for the test suite (Debian, as root, no
# systemd): installs slurm and munge when missing, writes a minimal configuration with one
# node that declares a (fake) GPU, and starts munged, slurmctld and slurmd.
# Idempotent: a cluster that is already up is left as it is. See ../shared/docs/SLURM.md.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "start_cluster.sh: needs root" >&2
    exit 2
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends \
            slurmctld slurmd slurm-client munge >/dev/null; }
fi

if sinfo -h -o %T 2>/dev/null | grep -q idle; then
    echo "start_cluster.sh: cluster already up"
    exit 0
fi

host=$(hostname -s)
mkdir -p /run/munge /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
                                 chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

# The node line as slurmd sees this machine, with the fake GPU added.
node=$(slurmd -C | head -n1 | sed 's/ UpTime=.*//')
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=lxmert-lth-test
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
DefMemPerCPU=1024
MinJobAge=3600
GresTypes=gpu
${node} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# A fake GPU: gres needs a character device.
echo "NodeName=${host} Name=gpu File=/dev/null" > /etc/slurm/gres.conf

pgrep -x slurmctld >/dev/null || slurmctld -i
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then
        echo "start_cluster.sh: node ${host} idle"
        exit 0
    fi
    sleep 0.5
done
echo "start_cluster.sh: the node did not become idle" >&2
sinfo -N -l >&2 || true
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
# slurmd 22.05 cannot start on a cgroup-v2-only host without systemd: not a bug of ours.
if ! pgrep -x slurmd >/dev/null && grep -qi cgroup /var/log/slurm/slurmd.log 2>/dev/null; then
    exit 3
fi
exit 1
