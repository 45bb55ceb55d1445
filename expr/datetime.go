package expr

import (
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync"
)

// Dates are always UTC. Text without a time zone is read as UTC (the
// reference reads it in the sync server's zone; idsync servers have no
// zone of their own).

// parseDate reads the date forms .NET's DateTime.Parse accepts in the
// invariant culture that rules use: ISO 8601 / RFC 3339
// (2013-01-10T16:00:00Z), yyyy-MM-dd or yyyy/MM/dd, US M/d/yyyy, month
// names (10 Jan 2013, January 10, 2013), an optional time (16:00, 4:00 PM,
// 16:00:00.1234567), an optional zone (Z, UTC, GMT, -8, +05:30, -0800),
// and AD's generalized time (20140905081453.0Z).
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, ok := parseGeneralizedTime(s); ok {
		return t, true
	}
	p := &dateParser{s: s}
	return p.parse()
}

func parseGeneralizedTime(s string) (time.Time, bool) {
	if len(s) < 15 || !allDigits(s[:14]) {
		return time.Time{}, false
	}
	rest := s[14:]
	nsec := 0
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		frac := rest[1:i]
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
		nsec = n
		rest = rest[i:]
	}
	off, ok := parseZone(rest)
	if !ok {
		return time.Time{}, false
	}
	num := func(i, j int) int { n, _ := strconv.Atoi(s[i:j]); return n }
	t := time.Date(num(0, 4), time.Month(num(4, 6)), num(6, 8), num(8, 10), num(10, 12), num(12, 14), nsec, time.UTC)
	if int(t.Month()) != num(4, 6) || t.Day() != num(6, 8) || t.Hour() != num(8, 10) {
		return time.Time{}, false
	}
	return t.Add(-time.Duration(off) * time.Second), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseZone reads "", Z, UTC, GMT, ±H, ±HH, ±HH:mm or ±HHmm into seconds
// east of UTC.
func parseZone(z string) (int, bool) {
	z = strings.TrimSpace(z)
	switch strings.ToUpper(z) {
	case "", "Z", "UTC", "GMT":
		return 0, true
	}
	if z[0] != '+' && z[0] != '-' {
		return 0, false
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	d := strings.Replace(z[1:], ":", "", 1)
	if !allDigits(d) || len(d) == 0 || len(d) > 4 {
		return 0, false
	}
	var h, m int
	switch len(d) {
	case 1, 2:
		h, _ = strconv.Atoi(d)
	case 3:
		h, _ = strconv.Atoi(d[:1])
		m, _ = strconv.Atoi(d[1:])
	case 4:
		h, _ = strconv.Atoi(d[:2])
		m, _ = strconv.Atoi(d[2:])
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

func monthByName(w string) int {
	w = strings.ToLower(strings.TrimSuffix(w, "."))
	if len(w) < 3 {
		return 0
	}
	for i, m := range monthNames {
		if strings.HasPrefix(m, w) {
			return i + 1
		}
	}
	return 0
}

type dateParser struct {
	s       string
	i       int
	weekday bool // a weekday name was read
}

func isWeekday(w string) bool {
	w = strings.ToLower(strings.TrimSuffix(w, "."))
	if len(w) < 3 {
		return false
	}
	for _, d := range []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		if strings.HasPrefix(d, w) {
			return true
		}
	}
	return false
}

func (p *dateParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *dateParser) number() (int, int, bool) {
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i || j-p.i > 9 {
		return 0, 0, false
	}
	n, _ := strconv.Atoi(p.s[p.i:j])
	w := j - p.i
	p.i = j
	return n, w, true
}

func (p *dateParser) word() string {
	j := p.i
	for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || p.s[j] == '.') {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

func (p *dateParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dateParser) parse() (time.Time, bool) {
	var y, mo, d int
	if c := p.peek(); c >= '0' && c <= '9' {
		a, aw, _ := p.number()
		sep := p.peek()
		switch {
		case (sep == '-' || sep == '/' || sep == '.') && aw == 4: // yyyy-MM-dd
			p.i++
			mo, _, _ = p.number()
			if p.peek() != sep {
				return time.Time{}, false
			}
			p.i++
			var ok bool
			if d, _, ok = p.number(); !ok {
				return time.Time{}, false
			}
			y = a
		case sep == '/' || sep == '-': // M/d/yyyy
			p.i++
			b, _, ok := p.number()
			if !ok || p.peek() != sep {
				return time.Time{}, false
			}
			p.i++
			c, cw, ok := p.number()
			if !ok {
				return time.Time{}, false
			}
			mo, d, y = a, b, c
			if cw <= 2 {
				y += 2000
				if y > 2029 { // .NET's two-digit year window
					y -= 100
				}
			}
		case sep == ' ': // 10 Jan 2013
			p.skipSpace()
			if mo = monthByName(p.word()); mo == 0 {
				return time.Time{}, false
			}
			p.skipSpace()
			var ok bool
			if y, _, ok = p.number(); !ok {
				return time.Time{}, false
			}
			d = a
		default:
			return time.Time{}, false
		}
	} else {
		w := p.word()
		if mo = monthByName(w); mo == 0 {
			// A weekday name first: "Thu, 10 Jan 2013".
			if p.weekday || !isWeekday(w) {
				return time.Time{}, false
			}
			p.weekday = true
			p.skipSpace()
			return p.parse()
		}
		p.skipSpace()
		var ok bool
		if d, _, ok = p.number(); !ok {
			return time.Time{}, false
		}
		p.skipSpace()
		if y, _, ok = p.number(); !ok {
			return time.Time{}, false
		}
	}
	var h, mi, sec, nsec int
	if c := p.peek(); c == 'T' || c == ' ' {
		p.i++
		for p.peek() == ' ' {
			p.i++
		}
		if c := p.peek(); c >= '0' && c <= '9' {
			var ok bool
			h, _, _ = p.number()
			if p.peek() != ':' {
				return time.Time{}, false
			}
			p.i++
			if mi, _, ok = p.number(); !ok {
				return time.Time{}, false
			}
			if p.peek() == ':' {
				p.i++
				if sec, _, ok = p.number(); !ok {
					return time.Time{}, false
				}
				if p.peek() == '.' {
					p.i++
					j := p.i
					f, fw, ok := p.number()
					if !ok {
						return time.Time{}, false
					}
					_ = j
					for ; fw < 9; fw++ {
						f *= 10
					}
					nsec = f
				}
			}
			for p.peek() == ' ' {
				p.i++
			}
			save := p.i
			switch w := strings.ToUpper(p.word()); w {
			case "AM", "A.M.":
				if h < 1 || h > 12 {
					return time.Time{}, false
				}
				if h == 12 {
					h = 0
				}
			case "PM", "P.M.":
				if h < 1 || h > 12 {
					return time.Time{}, false
				}
				if h != 12 {
					h += 12
				}
			default:
				p.i = save
			}
		} else {
			p.i--
		}
	}
	off, ok := parseZone(p.s[p.i:])
	if !ok {
		return time.Time{}, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || y < 1 || y > 9999 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and the like
	}
	return t.Add(-time.Duration(off) * time.Second), true
}

// fileTimeEpoch is 1601-01-01 in Unix seconds.
const fileTimeEpoch = -11644473600

// dateFromNum reads a Windows FILETIME: 100-nanosecond ticks since
// 1601-01-01 UTC (pwdLastSet, lastLogonTimestamp, accountExpires).
func dateFromNum(_ *frame, a []idsync.Value) (idsync.Value, error) {
	n, err := argNum("DateFromNum", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	if n < 0 {
		return errf("DateFromNum", "%d is not a Windows file time", n)
	}
	return timeVal(time.Unix(fileTimeEpoch+n/1e7, (n%1e7)*100)), nil
}

func numFromDate(_ *frame, a []idsync.Value) (idsync.Value, error) {
	t, err := toTime("NumFromDate", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	sec := t.Unix() - fileTimeEpoch
	const maxSec, maxTicks = (1<<63 - 1) / 10_000_000, (1<<63 - 1) % 10_000_000
	if sec < 0 || sec > maxSec || sec == maxSec && int64(t.Nanosecond()/100) > maxTicks {
		return errf("NumFromDate", "%s is outside the range of Windows file times", t.Format(time.RFC3339))
	}
	return intVal(sec*1e7 + int64(t.Nanosecond()/100)), nil
}

func now(f *frame, _ []idsync.Value) (idsync.Value, error) { return timeVal(f.now()), nil }

// dateAdd follows VBA's DateAdd: months and years keep the day of the
// month where they can and otherwise end on the month's last day
// (2024-01-31 plus one month is 2024-02-29).
func dateAdd(_ *frame, a []idsync.Value) (idsync.Value, error) {
	iv, err := argText("DateAdd", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	n, err := argNum("DateAdd", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	t, err := toTime("DateAdd", a[2])
	if err != nil {
		return idsync.Value{}, err
	}
	addMonths := func(m int64) time.Time {
		total := int64(t.Year())*12 + int64(t.Month()-1) + m
		y, mo := int(total/12), time.Month(total%12+1)
		last := time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return time.Date(y, mo, min(t.Day(), last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	if n > 1e8 || n < -1e8 {
		return errf("DateAdd", "%d intervals is out of range", n)
	}
	var r time.Time
	switch strings.ToLower(iv) {
	case "yyyy":
		r = addMonths(12 * n)
	case "q":
		r = addMonths(3 * n)
	case "m":
		r = addMonths(n)
	case "y", "d", "w":
		r = t.AddDate(0, 0, int(n))
	case "ww":
		r = t.AddDate(0, 0, 7*int(n))
	case "h":
		r = t.Add(time.Duration(n) * time.Hour)
	case "n":
		r = t.Add(time.Duration(n) * time.Minute)
	case "s":
		r = t.Add(time.Duration(n) * time.Second)
	default:
		return errf("DateAdd", "unknown interval %q (want yyyy, q, m, y, d, w, ww, h, n or s)", iv)
	}
	return timeVal(r), nil
}

func formatDateTime(_ *frame, a []idsync.Value) (idsync.Value, error) {
	t, err := toTime("FormatDateTime", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	f, err := argText("FormatDateTime", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	s, err := formatNet(t, f)
	if err != nil {
		return idsync.Value{}, evalErr("FormatDateTime", "%v", err)
	}
	return strVal(s), nil
}

// standardFormats are .NET's one-letter formats in the invariant culture.
var standardFormats = map[string]string{
	"d": "MM/dd/yyyy", "D": "dddd, dd MMMM yyyy",
	"f": "dddd, dd MMMM yyyy HH:mm", "F": "dddd, dd MMMM yyyy HH:mm:ss",
	"g": "MM/dd/yyyy HH:mm", "G": "MM/dd/yyyy HH:mm:ss",
	"m": "MMMM dd", "M": "MMMM dd",
	"o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	"r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	"s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss", "t": "HH:mm", "T": "HH:mm:ss",
	"u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'", "U": "dddd, dd MMMM yyyy HH:mm:ss",
	"y": "yyyy MMMM", "Y": "yyyy MMMM",
}

type fmtError string

func (e fmtError) Error() string { return string(e) }

// formatNet formats t (UTC) with a .NET date and time format string:
// a standard one-letter format, or a custom format of d, f, F, g, h, H, K,
// m, M, s, t, y, z, quoted '...' or "..." literals, \x escapes and %x
// single specifiers. Other characters (such as ".0Z" in AD's
// "yyyyMMddHHmmss.0Z") are copied.
func formatNet(t time.Time, f string) (string, error) {
	if std, ok := standardFormats[f]; ok {
		f = std
	} else if len(f) == 1 && f != "%" {
		if strings.ContainsRune("dfFghHKmMstyz", rune(f[0])) {
			return "", fmtError("unknown standard format " + strconv.Quote(f))
		}
	}
	var b strings.Builder
	pad := func(n, w int) {
		s := strconv.Itoa(n)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for i := 0; i < len(f); {
		c := f[i]
		n := 1
		for i+n < len(f) && f[i+n] == c {
			n++
		}
		switch c {
		case 'd':
			switch n {
			case 1, 2:
				pad(t.Day(), n)
			case 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'f', 'F':
			if n > 7 {
				return "", fmtError("too many fraction digits in " + strconv.Quote(f))
			}
			digits := strconv.Itoa(t.Nanosecond() + 1e9)[1 : 1+n]
			if c == 'F' {
				digits = strings.TrimRight(digits, "0")
				if digits == "" {
					s := b.String()
					if strings.HasSuffix(s, ".") {
						b.Reset()
						b.WriteString(s[:len(s)-1])
					}
				}
			}
			b.WriteString(digits)
		case 'g':
			b.WriteString("A.D.")
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(h, min(n, 2))
		case 'H':
			pad(t.Hour(), min(n, 2))
		case 'K':
			b.WriteString("Z")
			n = 1
		case 'm':
			pad(t.Minute(), min(n, 2))
		case 'M':
			switch n {
			case 1, 2:
				pad(int(t.Month()), n)
			case 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 's':
			pad(t.Second(), min(n, 2))
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			if n == 1 {
				ampm = ampm[:1]
			}
			b.WriteString(ampm)
		case 'y':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case 2:
				pad(t.Year()%100, 2)
			default:
				pad(t.Year(), n)
			}
		case 'z':
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case '\'', '"':
			end := strings.IndexByte(f[i+1:], c)
			if end < 0 {
				return "", fmtError("unterminated quoted text in " + strconv.Quote(f))
			}
			b.WriteString(f[i+1 : i+1+end])
			n = end + 2
		case '\\':
			if i+1 >= len(f) {
				return "", fmtError("format ends with a backslash")
			}
			b.WriteByte(f[i+1])
			n = 2
		case '%':
			n = 1
		default:
			b.WriteString(f[i : i+n])
		}
		i += n
	}
	return b.String(), nil
}
