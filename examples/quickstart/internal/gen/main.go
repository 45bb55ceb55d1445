// Command gen writes the quickstart's HR export, hr.csv: about 1,000
// people whose managers form one tree, about 3% leavers, and one
// duplicated row (the same employeeId twice) that the import reports as
// an error. The output is deterministic: run it again and the file does
// not change.
//
//	go run ./internal/gen -o hr.csv   (from examples/quickstart; or go generate)
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// These people are changed by `idsync quickstart` in its delta cycle
// (see examples/quickstart/quickstart.go): they must be active,
// non-managers with a displayName. Keep both lists in step.
var reserved = map[int]bool{321: true, 654: true, 777: true}

const (
	people      = 1000
	managerPool = 120 // E0001..E0120 may manage others; E0001 is the CEO
	leavers     = 30
	duplicateOf = 500 // E0500's row appears twice
)

var givenNames = []string{
	"Ada", "Alan", "Amara", "Anders", "Aisha", "Bea", "Bruno", "Carla", "Chen", "Dario",
	"Dmitri", "Elena", "Emeka", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
	"Jamal", "Jin", "Kai", "Karin", "Leila", "Liam", "Lucia", "Mateo", "Maya", "Mei",
	"Nadia", "Niko", "Noor", "Olga", "Omar", "Paula", "Priya", "Quinn", "Rafael", "Rosa",
	"Sami", "Sofia", "Tariq", "Tomas", "Uma", "Viktor", "Wen", "Yara", "Yusuf", "Zoe",
}

var surnames = []string{
	"Abara", "Berg", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jansen",
	"Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi", "Santos", "Tanaka",
	"Umarov", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Novak", "Silva", "Murphy", "Kim",
	"Lindqvist", "Mensah", "Horvat", "Costa", "Adeyemi", "Popescu", "Nguyen", "Ortiz", "Bauer", "Keller",
}

var departments = []string{"Engineering", "Finance", "Human Resources", "Legal", "Marketing", "Operations", "Sales", "Support"}

var titles = []string{"Analyst", "Specialist", "Engineer", "Coordinator", "Consultant", "Associate", "Advisor", "Administrator"}

func main() {
	out := flag.String("o", "hr.csv", "output file")
	flag.Parse()
	if err := write(*out); err != nil {
		log.Fatal(err)
	}
}

type person struct {
	id, given, sn, display, mail, dept, title, manager, status, hire string
}

func generate() []person {
	rng := rand.New(rand.NewPCG(2024, 11))
	ps := make([]person, people+1) // 1-based
	usedMail := map[string]int{}
	start := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= people; i++ {
		p := person{
			id:     fmt.Sprintf("E%04d", i),
			given:  givenNames[rng.IntN(len(givenNames))],
			sn:     surnames[rng.IntN(len(surnames))],
			dept:   departments[rng.IntN(len(departments))],
			title:  titles[rng.IntN(len(titles))],
			status: "active",
			hire:   start.AddDate(0, 0, rng.IntN(17*365)).Format("2006-01-02"),
		}
		switch {
		case i == 1:
			p.title = "Chief Executive Officer"
		case i <= managerPool:
			p.title = "Head of " + p.dept
			p.manager = fmt.Sprintf("E%04d", 1+rng.IntN(i-1))
		default:
			p.manager = fmt.Sprintf("E%04d", 2+rng.IntN(managerPool-1))
		}
		// About 5% have no displayName in HR; the inbound rule builds one.
		if rng.IntN(20) != 0 || reserved[i] {
			p.display = p.given + " " + p.sn
		}
		local := strings.ToLower(p.given + "." + p.sn)
		usedMail[local]++
		if n := usedMail[local]; n > 1 {
			local = fmt.Sprintf("%s%d", local, n)
		}
		p.mail = local + "@example.com"
		ps[i] = p
	}
	// Leavers: exactly `leavers` people who manage nobody.
	for n := 0; n < leavers; {
		i := managerPool + 1 + rng.IntN(people-managerPool)
		if reserved[i] || i == duplicateOf || ps[i].status == "leaver" {
			continue
		}
		ps[i].status = "leaver"
		n++
	}
	return ps[1:]
}

func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"employeeId", "givenName", "sn", "displayName", "mail", "department", "title", "manager", "status", "hireDate"})
	for _, p := range generate() {
		row := []string{p.id, p.given, p.sn, p.display, p.mail, p.dept, p.title, p.manager, p.status, p.hire}
		w.Write(row)
		if p.id == fmt.Sprintf("E%04d", duplicateOf) {
			// A second record for the same person, as HR exports sometimes
			// contain: the import reports it with its file and line.
			dup := append([]string(nil), row...)
			dup[6] = "Senior " + p.title
			w.Write(dup)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
