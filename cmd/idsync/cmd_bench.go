package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store/pgstore"
	"github.com/idsync/idsync/store/storeopen"
)

// benchStage is one measured stage of the benchmark.
type benchStage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"objects_per_second"`
}

// benchResult is what `idsync bench --json` prints.
type benchResult struct {
	Objects      int          `json:"objects"`
	Stages       []benchStage `json:"stages"`
	PeakRSSBytes int64        `json:"peak_rss_bytes"`
}

func (a *app) benchCmd() *cobra.Command {
	var (
		objects int
		dir     string
		keep    bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure import, sync and export throughput on synthetic identities",
		Long: `Generate N synthetic identities (an HR CSV of 20 attributes with a manager
reference to an earlier row, and a badge CSV for half of them), a configuration
with 3 inbound rules (employees and contractors from HR with different scopes,
badges joined from a second source) and 2 outbound rules (a directory CSV for
everyone, a mail CSV for employees), and run:

  full-import   full import of both sources
  full-sync     full sync of both sources (projection, join, provisioning)
  export        export to both targets
  delta-round   1% of HR rows changed, then: delta import of HR (the CSV
                connector reads the whole file and compares it with the
                snapshot its last import left as the watermark, so only the
                changes reach the engine) + delta sync + export to both
                targets

It prints objects/s per stage (N divided by the stage's seconds) and the
peak resident memory. The store is a SQLite file in the working folder
unless --store is given; a PostgreSQL DSN (postgres://…) without a
search_path gets a new schema, dropped at the end unless --keep.`,
		Example: "  idsync bench --objects 100000\n  idsync bench --objects 2000 --json\n  idsync bench --store postgres://postgres@127.0.0.1:5432/test --objects 100000",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			if objects < 10 {
				return usagef("--objects must be at least 10")
			}
			return a.bench(cmd.Context(), objects, dir, keep)
		},
	}
	cmd.Flags().IntVar(&objects, "objects", 10000, "number of identities")
	cmd.Flags().StringVar(&dir, "dir", "", "working folder (default: a new temporary folder, removed afterwards)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary working folder")
	cmd.Flags().StringVar(&a.benchMemProfile, "memprofile", "", "write a heap profile after each run to FILE.CONNECTOR-PROFILE")
	return cmd
}

func (a *app) bench(ctx context.Context, n int, dir string, keep bool) error {
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "idsync-bench-"); err != nil {
			return err
		}
		if !keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := writeBench(dir, n); err != nil {
		return err
	}
	cfg, err := config.Load(dir, registry())
	if err != nil {
		return err
	}
	dsn := a.storeDSN
	if dsn == "" {
		dsn = cfg.Store
	}
	var opts storeopen.Options
	if pgstore.IsDSN(dsn) && !strings.Contains(dsn, "search_path=") {
		// A PostgreSQL bench runs in a new schema of its own, dropped
		// afterwards unless --keep.
		opts.Schema = "idsync_bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if !keep {
			defer func() {
				if err := pgstore.DropSchema(context.WithoutCancel(ctx), dsn, opts.Schema); err != nil {
					fmt.Fprintf(a.stderr, "bench: %v\n", err)
				}
			}()
		}
		if !a.jsonOut {
			fmt.Fprintf(a.stdout, "bench: PostgreSQL schema %s of %s\n", opts.Schema, storeopen.Redact(dsn))
		}
	}
	st, err := storeopen.Open(ctx, dsn, opts)
	if err != nil {
		return fmt.Errorf("open store %s: %w", storeopen.Redact(dsn), err)
	}
	defer st.Close()
	pr := a.newRunProgress(ctx, cfg, st)
	e, err := a.newEngine(ctx, cfg, st, pr.report)
	if err != nil {
		return err
	}
	if !a.jsonOut {
		fmt.Fprintf(a.stdout, "bench: %d identities in %s\n", n, dir)
	}

	res := benchResult{Objects: n, Stages: []benchStage{}}
	var failed []*idsync.RunResult
	stage := func(name string, prep func() error, steps ...step) error {
		if prep != nil {
			if err := prep(); err != nil {
				return err
			}
		}
		start := time.Now()
		for _, s := range steps {
			r, err := e.Run(ctx, s.connector, s.profile)
			pr.wait()
			if err != nil {
				return err
			}
			if runFailed(r) {
				failed = append(failed, r)
			}
			if !a.jsonOut {
				printSummary(a.stdout, r)
			}
			if isStoppedStatus(r.Status) {
				return fmt.Errorf("bench: run %s %s stopped: %s", s.connector, s.profile, r.Status)
			}
			if a.benchMemProfile != "" {
				writeHeapProfile(fmt.Sprintf("%s.%s-%s", a.benchMemProfile, s.connector, s.profile))
			}
		}
		secs := time.Since(start).Seconds()
		res.Stages = append(res.Stages, benchStage{Name: name, Seconds: round3(secs), Rate: round3(float64(n) / secs)})
		return nil
	}
	changed := 0
	for _, s := range []struct {
		name  string
		prep  func() error
		steps []step
	}{
		{"full-import", nil, []step{{"hr", "full-import"}, {"badge", "full-import"}}},
		{"full-sync", nil, []step{{"hr", "full-sync"}, {"badge", "full-sync"}}},
		{"export", nil, []step{{"directory", "export"}, {"mail", "export"}}},
		{"delta-round", func() error {
			var err error
			changed, err = changeBench(dir, n)
			return err
		}, []step{{"hr", "delta-import"}, {"hr", "delta-sync"}, {"directory", "export"}, {"mail", "export"}}},
	} {
		if err := stage(s.name, s.prep, s.steps...); err != nil {
			return err
		}
	}
	res.PeakRSSBytes = peakRSS()
	if a.jsonOut {
		if err := printJSON(a.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "\nbench: %d identities (%d changed in the delta round)\n", n, changed)
		t := newTable(a.stdout, "STAGE", "SECONDS", "OBJECTS/S")
		for _, s := range res.Stages {
			t.row(s.Name, fmt.Sprintf("%.2f", s.Seconds), fmt.Sprintf("%.0f", s.Rate))
		}
		t.flush()
		fmt.Fprintf(a.stdout, "peak RSS: %.1f MiB\n", float64(res.PeakRSSBytes)/(1<<20))
		fmt.Fprintln(a.stdout, "delta-round = delta import of the changed HR file (snapshot comparison) + delta sync + export to both targets")
	}
	if len(failed) > 0 {
		for _, r := range failed {
			fmt.Fprintf(a.stderr, "bench: run %s %s finished with %d error(s), status %s\n", r.Connector, r.Profile, r.ErrorCount, r.Status)
		}
		return &silentError{code: exitFailed}
	}
	return nil
}

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

// peakRSS returns the process's peak resident set size (VmHWM), or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// The benchmark's HR columns: 20 attributes.
var benchHRColumns = []string{
	"employeeId", "givenName", "sn", "displayName", "mail", "userPrincipalName",
	"department", "title", "company", "employeeType", "manager", "costCenter",
	"location", "country", "telephoneNumber", "mobile", "hireDate", "status",
	"division", "officeName",
}

var benchBadgeColumns = []string{"employeeId", "badgeId", "building", "floor", "accessLevel"}

func benchRow(rng *rand.Rand, i int) []string {
	given := givenPool[rng.IntN(len(givenPool))]
	sn := surnamePool[rng.IntN(len(surnamePool))]
	id := fmt.Sprintf("B%07d", i)
	manager := ""
	if i > 1 {
		manager = fmt.Sprintf("B%07d", 1+rng.IntN(min(i-1, 1+i/10)))
	}
	etype := "Employee"
	if rng.IntN(5) == 0 {
		etype = "Contractor"
	}
	dept := benchDepts[rng.IntN(len(benchDepts))]
	local := strings.ToLower(given+"."+sn) + strconv.Itoa(i)
	return []string{
		id, given, sn, given + " " + sn, local + "@example.com", local + "@corp.example.com",
		dept, benchTitles[rng.IntN(len(benchTitles))], "Example Corp", etype, manager,
		fmt.Sprintf("CC%04d", rng.IntN(500)), benchCities[rng.IntN(len(benchCities))], "NL",
		fmt.Sprintf("+31 20 %07d", rng.IntN(10_000_000)), fmt.Sprintf("+31 6 %08d", rng.IntN(100_000_000)),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(9000)).Format("2006-01-02"),
		"active", dept + " Division", "Building " + strconv.Itoa(1+rng.IntN(20)),
	}
}

var (
	givenPool   = []string{"Ada", "Alan", "Amara", "Bea", "Bruno", "Chen", "Dario", "Elena", "Emeka", "Farah", "Grace", "Hana", "Ivan", "Jin", "Kai", "Leila", "Mateo", "Maya", "Nadia", "Omar", "Priya", "Rosa", "Sami", "Tomas", "Uma", "Wen", "Yara", "Zoe"}
	surnamePool = []string{"Berg", "Castro", "Dubois", "Fischer", "Garcia", "Haddad", "Ito", "Jansen", "Larsen", "Moreau", "Okafor", "Petrov", "Rossi", "Santos", "Tanaka", "Varga", "Weber", "Xu", "Zhang", "Silva"}
	benchDepts  = []string{"Engineering", "Finance", "HR", "Legal", "Marketing", "Operations", "Sales", "Support"}
	benchTitles = []string{"Analyst", "Engineer", "Consultant", "Manager", "Specialist", "Advisor"}
	benchCities = []string{"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen"}
)

func writeCSV(path string, header []string, rows func(w *csv.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write(header)
	if err := rows(w); err != nil {
		f.Close()
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeBench writes the benchmark's sources and configuration into dir.
func writeBench(dir string, n int) error {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	if err := writeCSV(filepath.Join(dir, "hr.csv"), benchHRColumns, func(w *csv.Writer) error {
		for i := 1; i <= n; i++ {
			if err := w.Write(benchRow(rng, i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "badge.csv"), benchBadgeColumns, func(w *csv.Writer) error {
		for i := 1; i <= n; i += 2 {
			row := []string{fmt.Sprintf("B%07d", i), fmt.Sprintf("%08d", 10_000_000+i), "Building " + strconv.Itoa(1+rng.IntN(20)), strconv.Itoa(rng.IntN(12)), []string{"standard", "lab", "datacenter"}[rng.IntN(3)]}
			if err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	// Empty targets, with their headers.
	if err := writeCSV(filepath.Join(dir, "directory.csv"), benchDirectoryColumns, func(*csv.Writer) error { return nil }); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "mail.csv"), benchMailColumns, func(*csv.Writer) error { return nil }); err != nil {
		return err
	}
	for _, p := range []string{"idsync.db", "idsync.db-wal", "idsync.db-shm"} {
		os.Remove(filepath.Join(dir, p))
	}
	return os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(benchConfig), 0o644)
}

// changeBench changes 1% of the HR rows (title and department) and
// returns how many.
func changeBench(dir string, n int) (int, error) {
	path := filepath.Join(dir, "hr.csv")
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	rows, err := csv.NewReader(bufio.NewReaderSize(f, 1<<20)).ReadAll()
	f.Close()
	if err != nil {
		return 0, err
	}
	step := 100
	changed := 0
	for i := 1; i < len(rows); i += step {
		rows[i][7] = "Senior " + rows[i][7] // title
		rows[i][6] = "Research"             // department
		changed++
	}
	err = writeCSV(path, rows[0], func(w *csv.Writer) error { return w.WriteAll(rows[1:]) })
	return changed, err
}

var (
	benchDirectoryColumns = []string{"employeeId", "displayName", "givenName", "sn", "mail", "userPrincipalName", "department", "title", "company", "manager", "telephoneNumber", "mobile", "location", "officeName", "badgeId", "accountEnabled", "personType"}
	benchMailColumns      = []string{"employeeId", "mail", "displayName", "givenName", "sn", "department", "mailboxType"}
)

const benchConfig = `# Generated by idsync bench.
store: sqlite:idsync.db

metaverse:
  objectTypes:
    - name: person
      deletion: {when: last-link}
      attributes:
        - {name: employeeId, type: string}
        - {name: givenName, type: string}
        - {name: sn, type: string}
        - {name: displayName, type: string}
        - {name: mail, type: string}
        - {name: userPrincipalName, type: string}
        - {name: department, type: string}
        - {name: title, type: string}
        - {name: company, type: string}
        - {name: employeeType, type: string}
        - {name: personType, type: string}
        - {name: manager, type: reference}
        - {name: costCenter, type: string}
        - {name: location, type: string}
        - {name: country, type: string}
        - {name: telephoneNumber, type: string}
        - {name: mobile, type: string}
        - {name: hireDate, type: string}
        - {name: division, type: string}
        - {name: officeName, type: string}
        - {name: badgeId, type: string}
        - {name: building, type: string}
        - {name: floor, type: string}
        - {name: accessLevel, type: string}

connectors:
  - name: hr
    type: csv
    capabilities: {export: false}
    settings: {path: hr.csv, objectType: person, anchor: [employeeId], types: {manager: reference}}
  - name: badge
    type: csv
    capabilities: {export: false}
    settings: {path: badge.csv, objectType: badge, anchor: [employeeId]}
  - name: directory
    type: csv
    deletionThreshold: -1
    settings:
      path: directory.csv
      objectType: person
      anchor: [employeeId]
      columns: [employeeId, displayName, givenName, sn, mail, userPrincipalName, department, title, company, manager, telephoneNumber, mobile, location, officeName, badgeId, accountEnabled, personType]
      types: {manager: reference}
  - name: mail
    type: csv
    deletionThreshold: -1
    settings:
      path: mail.csv
      objectType: mailbox
      anchor: [employeeId]
      columns: [employeeId, mail, displayName, givenName, sn, department, mailboxType]

rules:
  - name: HR employees
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    scope: [[{attribute: employeeType, operator: EQUAL, value: Employee}]]
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: displayName, source: displayName}
      - {target: mail, source: mail}
      - {target: userPrincipalName, source: userPrincipalName}
      - {target: department, source: department}
      - {target: title, source: title}
      - {target: company, source: company}
      - {target: employeeType, source: employeeType}
      - {target: manager, source: manager}
      - {target: costCenter, source: costCenter}
      - {target: location, source: location}
      - {target: country, source: country}
      - {target: telephoneNumber, source: telephoneNumber}
      - {target: mobile, source: mobile}
      - {target: hireDate, source: hireDate}
      - {target: division, source: division}
      - {target: officeName, source: officeName}
      - {target: personType, constant: employee}

  - name: HR contractors
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 110
    scope: [[{attribute: employeeType, operator: EQUAL, value: Contractor}]]
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: displayName, source: displayName}
      - {target: userPrincipalName, source: userPrincipalName}
      - {target: department, source: department}
      - {target: title, source: title}
      - {target: employeeType, source: employeeType}
      - {target: manager, source: manager}
      - {target: location, source: location}
      - {target: mobile, source: mobile}
      - {target: company, constant: Example Contracting}
      - {target: personType, constant: contractor}

  - name: Badges
    direction: inbound
    connector: badge
    csObjectType: badge
    mvObjectType: person
    linkType: Join
    precedence: 50
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: badgeId, source: badgeId}
      - {target: building, source: building}
      - {target: floor, source: floor}
      - {target: accessLevel, source: accessLevel}

  - name: To directory
    direction: outbound
    connector: directory
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 200
    flows:
      - {target: dn, source: employeeId}
      - {target: employeeId, source: employeeId}
      - {target: displayName, source: displayName}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: mail, source: mail}
      - {target: userPrincipalName, source: userPrincipalName}
      - {target: department, source: department}
      - {target: title, source: title}
      - {target: company, source: company}
      - {target: manager, source: manager}
      - {target: telephoneNumber, source: telephoneNumber}
      - {target: mobile, source: mobile}
      - {target: location, source: location}
      - {target: officeName, source: officeName}
      - {target: badgeId, source: badgeId}
      - {target: personType, source: personType}
      - {target: accountEnabled, constant: "True"}

  - name: To mail
    direction: outbound
    connector: mail
    csObjectType: mailbox
    mvObjectType: person
    linkType: Provision
    precedence: 210
    scope: [[{attribute: personType, operator: EQUAL, value: employee}]]
    flows:
      - {target: dn, source: employeeId}
      - {target: employeeId, source: employeeId}
      - {target: mail, source: mail}
      - {target: displayName, source: displayName}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: department, source: department}
      - {target: mailboxType, constant: UserMailbox}
`

// writeHeapProfile writes a heap profile, for --memprofile.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	pprof.Lookup("heap").WriteTo(f, 0)
}
