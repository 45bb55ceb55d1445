# Interpreters of the script connector's examples (connector/script tests):
# Python 3 and jq for the POSIX sh example. Nothing to start. pwsh is not
# packaged for this distribution: the PowerShell example is not run in CI.
command -v python3 >/dev/null 2>&1 || apt_install python3
command -v jq >/dev/null 2>&1 || apt_install jq
