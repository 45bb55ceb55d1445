package idsync

import (
	"fmt"
	"strings"
	"time"
)

// StepType is one kind of run-profile step (§13).
type StepType string

// Run-profile step types.
const (
	StepFullImport          StepType = "full-import"
	StepDeltaImport         StepType = "delta-import"
	StepFullSync            StepType = "full-sync"
	StepDeltaSync           StepType = "delta-sync"
	StepExport              StepType = "export"
	StepFullImportDeltaSync StepType = "full-import-delta-sync"
)

// StepTypes lists every step type.
var StepTypes = []StepType{StepFullImport, StepDeltaImport, StepFullSync, StepDeltaSync, StepExport, StepFullImportDeltaSync}

// ParseStepType parses a step type; it accepts the names above and the
// reference product's ("Full Import", "Delta Synchronization", ...).
func ParseStepType(s string) (StepType, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer(" ", "-", "_", "-", "synchronization", "sync", "+", "").Replace(n)
	n = strings.ReplaceAll(n, "--", "-")
	for _, t := range StepTypes {
		if string(t) == n {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown run step %q (want one of full-import, delta-import, full-sync, delta-sync, export, full-import-delta-sync)", s)
}

// IsImport reports whether the step reads the connected system.
func (t StepType) IsImport() bool {
	return t == StepFullImport || t == StepDeltaImport || t == StepFullImportDeltaSync
}

// IsSync reports whether the step synchronizes.
func (t StepType) IsSync() bool {
	return t == StepFullSync || t == StepDeltaSync || t == StepFullImportDeltaSync
}

// RunStep is one step of a run profile.
type RunStep struct {
	Type      StepType `json:"type"`
	Partition string   `json:"partition,omitempty"`
	PageSize  int      `json:"pageSize,omitempty"`
}

// RunProfile is a named sequence of steps for one connector.
type RunProfile struct {
	Name  string    `json:"name"`
	Steps []RunStep `json:"steps"`
}

// RunStatus is how a run ended (§13).
type RunStatus string

// Run statuses.
const (
	StatusRunning                  RunStatus = "in-progress"
	StatusSuccess                  RunStatus = "success"
	StatusCompletedWithWarnings    RunStatus = "completed-with-warnings"
	StatusCompletedWithErrors      RunStatus = "completed-with-errors"
	StatusStoppedConnectivity      RunStatus = "stopped-connectivity"
	StatusStoppedDeletionThreshold RunStatus = "stopped-deletion-threshold"
	StatusStoppedError             RunStatus = "stopped-error"
	StatusInterrupted              RunStatus = "stopped-interrupted"
)

// Counters are the run counters of §13.
type Counters struct {
	// import
	ImportAdds      int `json:"importAdds"`
	ImportUpdates   int `json:"importUpdates"`
	ImportRenames   int `json:"importRenames"`
	ImportDeletes   int `json:"importDeletes"`
	ImportDeleteAdd int `json:"importDeleteAdds"`
	ImportNoChange  int `json:"importNoChange"`
	Placeholders    int `json:"placeholders"`
	// inbound sync
	Projections            int `json:"projections"`
	Joins                  int `json:"joins"`
	FilteredDisconnectors  int `json:"filteredDisconnectors"`
	Disconnectors          int `json:"disconnectors"`
	ConnectorsWithFlowUpds int `json:"connectorsWithFlowUpdates"`
	ConnectorsNoFlowUpds   int `json:"connectorsWithoutFlowUpdates"`
	MVDeletes              int `json:"mvDeletes"`
	// outbound sync
	ProvisionedAdds    int `json:"provisionedAdds"`
	ExportFlows        int `json:"exportAttributeFlows"`
	Deprovisioned      int `json:"deprovisioned"`
	Renames            int `json:"provisionedRenames"`
	DisconnectedExport int `json:"deprovisionedDisconnects"`
	// matching (§12): existing target objects taken over instead of
	// provisioned, and candidates that were not taken (a blocking
	// switch, a privileged role, another immutable ID, joined elsewhere).
	HardMatches    int `json:"hardMatches"`
	SoftMatches    int `json:"softMatches"`
	MatchConflicts int `json:"matchConflicts"`
	// export
	ExportAdds    int `json:"exportAdds"`
	ExportUpdates int `json:"exportUpdates"`
	ExportRenames int `json:"exportRenames"`
	ExportDeletes int `json:"exportDeletes"`
	ExportErrors  int `json:"exportErrors"`
	// Objects is how many objects the run processed in all.
	Objects int `json:"objects"`
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.ImportAdds += o.ImportAdds
	c.ImportUpdates += o.ImportUpdates
	c.ImportRenames += o.ImportRenames
	c.ImportDeletes += o.ImportDeletes
	c.ImportDeleteAdd += o.ImportDeleteAdd
	c.ImportNoChange += o.ImportNoChange
	c.Placeholders += o.Placeholders
	c.Projections += o.Projections
	c.Joins += o.Joins
	c.FilteredDisconnectors += o.FilteredDisconnectors
	c.Disconnectors += o.Disconnectors
	c.ConnectorsWithFlowUpds += o.ConnectorsWithFlowUpds
	c.ConnectorsNoFlowUpds += o.ConnectorsNoFlowUpds
	c.MVDeletes += o.MVDeletes
	c.ProvisionedAdds += o.ProvisionedAdds
	c.ExportFlows += o.ExportFlows
	c.Deprovisioned += o.Deprovisioned
	c.Renames += o.Renames
	c.DisconnectedExport += o.DisconnectedExport
	c.HardMatches += o.HardMatches
	c.SoftMatches += o.SoftMatches
	c.MatchConflicts += o.MatchConflicts
	c.ExportAdds += o.ExportAdds
	c.ExportUpdates += o.ExportUpdates
	c.ExportRenames += o.ExportRenames
	c.ExportDeletes += o.ExportDeletes
	c.ExportErrors += o.ExportErrors
	c.Objects += o.Objects
}

// ObjectError is an error on one object during a run: it never aborts the run.
type ObjectError struct {
	Step      StepType `json:"step"`
	Connector string   `json:"connector,omitempty"`
	CSID      string   `json:"csId,omitempty"`
	MVID      string   `json:"mvId,omitempty"`
	Anchor    Anchor   `json:"anchor,omitempty"`
	DN        string   `json:"dn,omitempty"`
	Rule      string   `json:"rule,omitempty"`
	Type      string   `json:"type"` // e.g. "ambiguous-join", "expression-error", "import-error"
	Message   string   `json:"message"`
}

func (e ObjectError) String() string {
	obj := e.DN
	if obj == "" {
		obj = string(e.Anchor)
	}
	if e.Rule != "" {
		return fmt.Sprintf("%s %s %q (rule %q): %s: %s", e.Step, e.Connector, obj, e.Rule, e.Type, e.Message)
	}
	return fmt.Sprintf("%s %s %q: %s: %s", e.Step, e.Connector, obj, e.Type, e.Message)
}

// StepResult is the outcome of one run step.
type StepResult struct {
	Type      StepType  `json:"type"`
	Partition string    `json:"partition,omitempty"`
	Status    RunStatus `json:"status"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	Counters  Counters  `json:"counters"`
	// Pages is how many pages the step committed.
	Pages int `json:"pages"`
	// Resume is where a full import stands after its last committed page,
	// for a connector that can resume there (connector.ResumableImporter);
	// cleared when the step ends.
	Resume *ImportResume `json:"resume,omitempty"`
	// ResumedFrom and ResumedAfter say that this step resumed the
	// interrupted step of run ResumedFrom after the ResumedAfter objects
	// that step had committed.
	ResumedFrom  string   `json:"resumedFrom,omitempty"`
	ResumedAfter int      `json:"resumedAfter,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	Message      string   `json:"message,omitempty"`
}

// ImportResume is the position of an interrupted full import.
type ImportResume struct {
	// Gen is the import generation of the step (objects it read carry it,
	// which deletion detection relies on).
	Gen int64 `json:"gen"`
	// Position is the connector's position after the last committed page.
	Position []byte `json:"position"`
	// Objects counts the objects read up to it, over every attempt.
	Objects int `json:"objects"`
}

// RunResult is the record of one run of a run profile (§13).
type RunResult struct {
	ID        string        `json:"id"`
	Connector string        `json:"connector"`
	Profile   string        `json:"profile"`
	Status    RunStatus     `json:"status"`
	Started   time.Time     `json:"started"`
	Ended     time.Time     `json:"ended,omitzero"`
	Steps     []StepResult  `json:"steps"`
	Counters  Counters      `json:"counters"`
	Errors    []ObjectError `json:"errors,omitempty"`
	// ErrorCount counts every object error, including those past the
	// stored list's limit.
	ErrorCount int    `json:"errorCount"`
	Message    string `json:"message,omitempty"`
	// Host and PID identify the process that ran it.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}
