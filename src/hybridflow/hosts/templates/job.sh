#!/usr/bin/env bash
${header}
# hybridflow job wrapper: workflow ${workflow}, job ${job}, attempt ${attempt}, token ${token}
cd ${cwd} || exit 97
hf_pid=$${BASHPID:-$$(exec sh -c 'echo "$$PPID"')}
printf '%s %s\n' "$$hf_pid" ${token_q} > ${pidfile}
export HF_WORKFLOW=${workflow_q} HF_JOB=${job_q} HF_ATTEMPT=${attempt} HF_TOKEN=${token_q} HF_RUN_DIR=${workdir} HF_WORKFLOW_DIR=${cwd}
${environment}
${activate}
${payload} > ${logfile} 2>&1 < /dev/null 3>&-
hf_rc=$$?
builtin printf '%s %s\n' "$$hf_rc" ${token_q} > ${exitfile}
${footer}
builtin exit "$$hf_rc"
