package script_test

import "testing"

// The PowerShell example (examples/script-connector/powershell) runs the
// same end-to-end scenario as the Python and shell ones: full and delta
// import with paging and watermark, export with new anchors confirmed by
// import, password set and change with the three error kinds.
//
// PowerShell 7 (pwsh) is not among Debian's packages and this machine
// reaches no other source, so CI cannot install it: here, CI included,
// the test only loads the example's configuration, then skips and says
// so. It runs wherever pwsh is on the PATH.
var pwshExample = example{"powershell", "PSX", "ps1", "interpreter: [pwsh, -NoProfile, -NonInteractive, -File]\n      commonModuleName: common.psm1", "pwsh"}

func TestSpec10_EndToEndPowerShell(t *testing.T) {
	if lookPath("pwsh") == "" {
		// What can be checked without pwsh: the example's configuration
		// loads, every script file in place.
		newWorld(t, exampleYAML(pwshExample, 3))
		t.Skip("pwsh (PowerShell 7) is not installed; it is not in Debian's packages, so CI cannot install it on this machine")
	}
	testEndToEnd(t, pwshExample)
}
