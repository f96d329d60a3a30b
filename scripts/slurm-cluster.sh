#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the live sweep test (CLITests/SlurmSweepTests)
# and for trying `xpusim sweep submit` by hand. Debian 12, as root, no systemd, no cgroups; the
# recipe of ../shared/reference/slurm-single-node.md (Slurm 22.05, munge 0.5).
#
#   scripts/slurm-cluster.sh install   # apt-get the daemons and clients (slurmctld slurmd slurm-client munge)
#   scripts/slurm-cluster.sh start     # config, munged, slurmctld, slurmd; waits for an idle node and a real job step
#   scripts/slurm-cluster.sh stop      # cancels jobs, stops the three daemons by pid and waits until they are gone
set -euo pipefail

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

start() {
  local H st NODELINE
  H=$(hostname -s)
  # A cluster this script started earlier is stopped first, so start can be run again.
  stop >/dev/null
  # munge: /run/munge is not created without systemd; munged runs as its own user.
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key
  chmod 0600 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null

  # State of earlier runs is discarded (a drained node would survive a restart otherwise).
  rm -rf /var/spool/slurmctld /var/spool/slurmd
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm /run/slurm
  install -d -o root -g root -m 0755 /var/spool/slurmd
  NODELINE=$(slurmd -C | head -n 1)
  # linuxproc + task/none: no cgroups (the default proctrack/cgroup fails every job here);
  # the host pinned to 127.0.0.1 works where the short hostname does not resolve.
  cat >/etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # Daemonized (not -D): a step runner that kills its process group must not take them with it.
  /usr/sbin/slurmctld -c
  /usr/sbin/slurmd
  st=""
  for _ in $(seq 1 300); do
    st=$(sinfo -h -N -n "$H" -o '%t' 2>/dev/null || true)
    [ "$st" = "idle" ] && break
    sleep 0.2
  done
  if [ "$st" != "idle" ]; then
    echo "slurm-cluster: node $H not idle (state: '${st}')" >&2
    sinfo -N -o '%N %t %E' >&2 || true
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    exit 1
  fi
  # An idle node does not prove that jobs run: run a real step.
  timeout 60 srun -N1 -n1 true
  echo "slurm-cluster: node $H idle, a job step ran"
}

stop_pidfile() { # $1 pid file, $2 process name
  local pid s
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "$2" ] || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    s=$(ps -o stat= -p "$pid" 2>/dev/null) || return 0
    case "$s" in Z*) return 0 ;; esac
    sleep 0.1
  done
  echo "slurm-cluster: $2 (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  # Running jobs' slurmstepd outlive slurmd otherwise.
  squeue -h -o %A 2>/dev/null | sort -u | xargs -r scancel 2>/dev/null || true
  for _ in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  stop_pidfile /run/slurm/slurmd.pid slurmd
  stop_pidfile /run/slurm/slurmctld.pid slurmctld
  stop_pidfile /run/munge/munged.pid munged
  echo "slurm-cluster: stopped"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
