package expr_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"github.com/idsync/idsync/expr"
	"strings"
	"testing"
)

// funcCases holds, per function, cases with a NULL input ([missing] is an
// absent attribute), an empty string, a multi-valued input and a wrong
// type, besides the ordinary ones.
var funcCases = map[string][]evalCase{
	// Conversion
	"CBool": {
		{`CBool(1)`, `true`}, {`CBool(0)`, `false`}, {`CBool("False")`, `false`}, {`CBool([boolstr])`, `true`},
		{`CBool([num] = 5)`, `true`}, {`CBool([missing])`, `null`}, {`CBool([empty])`, `eval: is not a boolean`},
		{`CBool([mv2])`, `eval: is not a boolean`}, {`CBool(BitAnd([neg],-2147483648))`, `true`},
		{`CBool("maybe")`, `compile: must be a boolean`}, {`CBool([bin])`, `eval: is not a boolean`},
		{`CBool(Split("1,0",","))`, `[true,false]`},
	},
	"CDate": {
		{`CDate("2013-01-10 4:00 PM -8")`, `"2013-01-11T00:00:00Z"`}, {`CDate("12/25/2007")`, `"2007-12-25T00:00:00Z"`},
		{`CDate("2024-02-29T10:00:00+01:00")`, `"2024-02-29T09:00:00Z"`}, {`CDate("10 Jan 2013 16:00")`, `"2013-01-10T16:00:00Z"`},
		{`CDate("January 10, 2013")`, `"2013-01-10T00:00:00Z"`}, {`CDate("20140905081453.0Z")`, `"2014-09-05T08:14:53Z"`},
		{`CDate([dt])`, `"2024-01-31T10:20:30Z"`}, {`CDate([missing])`, `null`}, {`CDate([empty])`, `eval: is not a date`},
		{`CDate(Split("2020-01-01,2021-06-30",","))`, `["2020-01-01T00:00:00Z","2021-06-30T00:00:00Z"]`},
		{`CDate("2013-02-30")`, `eval: is not a date`}, {`CDate(5)`, `eval: number 5 is not a date`}, {`CDate([num])`, `eval: is not a date`},
	},
	"CGuid": {
		{`CGuid("{00001111-aaaa-2222-bbbb-3333cccc4444}")`, `"base64:EREAAKqqIiK7uzMzzMxERA=="`},
		{`CGuid("00001111-aaaa-2222-bbbb-3333cccc4444") = [guid]`, `true`},
		{`CGuid([missing])`, `null`}, {`CGuid([empty])`, `eval: is not a GUID`}, {`CGuid([str])`, `eval: is not a GUID`},
		{`Count(CGuid(Split("00001111-aaaa-2222-bbbb-3333cccc4444,00001111-aaaa-2222-bbbb-3333cccc4445",",")))`, `2`},
		{`CGuid([bin])`, `eval: binary value can't be used as text`},
	},
	"CNum": {
		{`CNum("42")`, `42`}, {`CNum([numstr]) + 1`, `43`}, {`CNum("&HFF")`, `255`}, {`CNum(" -7 ")`, `-7`}, {`CNum(True)`, `1`},
		{`CNum([bin])`, `197121`}, {`CNum([missing])`, `null`}, {`CNum([empty])`, `eval: is not a number`},
		{`CNum(Split("1,2",","))`, `[1,2]`}, {`CNum("abc")`, `eval: string "abc" is not a number`}, {`CNum([dt])`, `eval: is not a number`},
	},
	"ConvertFromBase64": {
		{`ConvertFromBase64("SABlAGwAbABvACAAdwBvAHIAbABkACEA")`, `"Hello world!"`},
		{`ConvertFromBase64("SGVsbG8gd29ybGQh",UTF8)`, `"Hello world!"`}, {`ConvertFromBase64("SGVsbG8gd29ybGQh",ASCII)`, `"Hello world!"`},
		{`ConvertFromBase64("SABpAA==",Unicode)`, `"Hi"`}, {`ConvertFromBase64("w6k=","UTF8")`, `"é"`},
		{`ConvertFromBase64([missing])`, `null`}, {`ConvertFromBase64([empty])`, `""`},
		{`ConvertFromBase64(Split("SABpAA==,SABvAA==",","))`, `["Hi","Ho"]`},
		{`ConvertFromBase64("!!!")`, `eval: is not Base64`}, {`ConvertFromBase64("SGk=",UTF16)`, `compile: must be one of Unicode, ASCII, UTF8`},
		{`ConvertFromBase64("SGk=",5)`, `compile: must be one of`},
	},
	"ConvertFromUTF8Hex": {
		{`ConvertFromUTF8Hex("48656C6C6F20776F726C6421")`, `"Hello world!"`}, {`ConvertFromUTF8Hex("c3a9")`, `"é"`},
		{`ConvertFromUTF8Hex([missing])`, `null`}, {`ConvertFromUTF8Hex([empty])`, `""`},
		{`ConvertFromUTF8Hex(Split("41,42",","))`, `["A","B"]`}, {`ConvertFromUTF8Hex("zz")`, `eval: is not hex digits`},
		{`ConvertFromUTF8Hex("FF")`, `eval: are not UTF-8`},
	},
	"ConvertToBase64": {
		{`ConvertToBase64("Hello world!")`, `"SABlAGwAbABvACAAdwBvAHIAbABkACEA"`}, {`ConvertToBase64([guid])`, `"EREAAKqqIiK7uzMzzMxERA=="`},
		{`ConvertToBase64([missing])`, `null`}, {`ConvertToBase64([empty])`, `""`}, {`ConvertToBase64([num])`, `"NQA="`},
		{`ConvertToBase64(Split("A,B",","))`, `["QQA=","QgA="]`}, {`ConvertFromBase64(ConvertToBase64("round trip ✓"))`, `"round trip ✓"`},
	},
	"ConvertToUTF8Hex": {
		{`ConvertToUTF8Hex("Hello world!")`, `"48656C6C6F20776F726C6421"`}, {`ConvertToUTF8Hex("é")`, `"C3A9"`},
		{`ConvertToUTF8Hex([bin])`, `"010203"`}, {`ConvertToUTF8Hex([missing])`, `null`}, {`ConvertToUTF8Hex([empty])`, `""`},
		{`ConvertToUTF8Hex([mv2])`, `["78","79"]`}, {`"CN={" & ConvertToUTF8Hex("abc") & "}"`, `"CN={616263}"`},
	},
	"CRef": {
		{`CRef("CN=Joe,DC=contoso,DC=com")`, `"CN=Joe,DC=contoso,DC=com"`}, {`CRef("CN=x," & %Forest.LDAP%)`, `"CN=x,DC=contoso,DC=com"`},
		{`CRef([missing])`, `null`}, {`CRef([empty])`, `""`}, {`CRef([mv2])`, `["x","y"]`},
		{`CRef([bin])`, `eval: binary value can't be used as text`}, {`CRef(Now())`, `"2024-05-01T12:00:00Z"`}, {`Left(CRef("a"),1) = "a"`, `true`},
	},
	"CStr": {
		{`CStr([dn])`, `"CN=Doe\\, Jane,OU=Sales,DC=contoso,DC=com"`}, {`CStr(5)`, `"5"`}, {`CStr(True)`, `"True"`},
		{`CStr([dt])`, `"2024-01-31T10:20:30Z"`}, {`CStr([missing])`, `null`}, {`CStr([empty])`, `""`},
		{`CStr([mv2])`, `["x","y"]`}, {`CStr([guid])`, `eval: binary value can't be used as text`},
	},
	"StringFromGuid": {
		{`StringFromGuid([guid])`, `"00001111-aaaa-2222-bbbb-3333cccc4444"`}, {`StringFromGuid(CGuid([guidstr]))`, `"00001111-aaaa-2222-bbbb-3333cccc4444"`},
		{`StringFromGuid([missing])`, `null`}, {`StringFromGuid([empty])`, `eval: is not a GUID`}, {`StringFromGuid([bin])`, `eval: a GUID has 16 bytes`},
		{`StringFromGuid(Split("{00001111-aaaa-2222-bbbb-3333cccc4444}",","))`, `"00001111-aaaa-2222-bbbb-3333cccc4444"`},
		{`StringFromGuid(5)`, `compile: must be a binary value`},
	},
	"StringFromSid": {
		{`StringFromSid([sid])`, `"S-1-5-21-1-2-3-500"`}, {`StringFromSid("S-1-5-32-544")`, `"S-1-5-32-544"`},
		{`StringFromSid([missing])`, `null`}, {`StringFromSid([empty])`, `eval: 0 bytes are not a SID`}, {`StringFromSid([bin])`, `eval: 3 bytes are not a SID`},
		{`Count(StringFromSid(Split("S-1-1-0,S-1-5-18",",")))`, `2`}, {`StringFromSid(5)`, `compile: must be a binary value`},
	},
	// Date / Time
	"DateAdd": {
		{`DateAdd("m",1,[dt])`, `"2024-02-29T10:20:30Z"`}, {`DateAdd("yyyy",-1,CDate("2024-02-29"))`, `"2023-02-28T00:00:00Z"`},
		{`DateAdd("q",1,[dt])`, `"2024-04-30T10:20:30Z"`}, {`DateAdd("d",1,[dt])`, `"2024-02-01T10:20:30Z"`},
		{`DateAdd("ww",2,[dt])`, `"2024-02-14T10:20:30Z"`}, {`DateAdd("h",-11,[dt])`, `"2024-01-30T23:20:30Z"`},
		{`DateAdd("n",40,[dt])`, `"2024-01-31T11:00:30Z"`}, {`DateAdd("s",30,[dt])`, `"2024-01-31T10:21:00Z"`},
		{`DateAdd("y",1,[dt])`, `"2024-02-01T10:20:30Z"`}, {`DateAdd("w",1,[dt])`, `"2024-02-01T10:20:30Z"`},
		{`DateAdd("d",1,[missing])`, `null`}, {`DateAdd([empty],1,[dt])`, `eval: unknown interval ""`},
		{`DateAdd("d",1,Split("2024-01-01,2024-12-31",","))`, `["2024-01-02T00:00:00Z","2025-01-01T00:00:00Z"]`},
		{`DateAdd("d","x",[dt])`, `compile: must be a number`}, {`DateAdd("d",1,[num])`, `eval: is not a date`},
	},
	"DateFromNum": {
		{`DateFromNum(130543784930000000)`, `"2014-09-05T08:14:53Z"`}, {`DateFromNum(0)`, `"1677-09-21T00:12:43.145224192Z"`},
		{`FormatDateTime(DateFromNum(0),"yyyy-MM-dd")`, `"1601-01-01"`}, {`FormatDateTime(DateFromNum(9223372036854775807),"yyyy")`, `"30828"`},
		{`DateFromNum([missing])`, `null`}, {`DateFromNum([empty])`, `eval: is not a number`},
		{`DateFromNum(Split("0,864000000000",","))`, `["1677-09-21T00:12:43.145224192Z","1677-09-21T00:12:43.145224192Z"]`},
		{`DateFromNum(-1)`, `eval: not a Windows file time`}, {`DateFromNum([dt])`, `eval: is not a number`},
	},
	"FormatDateTime": {
		{`FormatDateTime(CDate("12/25/2007"),"yyyy-MM-dd")`, `"2007-12-25"`},
		{`FormatDateTime([dt],"yyyyMMddHHmmss.0Z")`, `"20240131102030.0Z"`},
		{`FormatDateTime([dt],"dddd, MMMM d, yyyy h:mm tt")`, `"Wednesday, January 31, 2024 10:20 AM"`},
		{`FormatDateTime([dt],"ddd dd MMM yy H:m:s t")`, `"Wed 31 Jan 24 10:20:30 A"`},
		{`FormatDateTime([dt],"yyyy'-'MM'-'dd'T'HH':'mm':'ss.fffK")`, `"2024-01-31T10:20:30.000Z"`},
		{`FormatDateTime([dt],"HH:mm:ss.FFF")`, `"10:20:30"`}, {`FormatDateTime([dt],"\\y\\e\\a\\r yyyy zzz")`, `"year 2024 +00:00"`},
		{`FormatDateTime([dt],"o")`, `"2024-01-31T10:20:30.0000000Z"`}, {`FormatDateTime([dt],"s")`, `"2024-01-31T10:20:30"`},
		{`FormatDateTime([dt],"u")`, `"2024-01-31 10:20:30Z"`}, {`FormatDateTime([dt],"d")`, `"01/31/2024"`},
		{`FormatDateTime([dt],"%d")`, `"31"`}, {`FormatDateTime([dt],"'unterminated")`, `eval: unterminated quoted text`},
		{`FormatDateTime([missing],"yyyy")`, `null`}, {`FormatDateTime([dt],[empty])`, `""`},
		{`FormatDateTime(CDate(Split("2020-01-01,2021-01-01",",")),"yyyy")`, `["2020","2021"]`},
		{`FormatDateTime(5,"yyyy")`, `compile: must be a date`}, {`FormatDateTime([str],"yyyy")`, `eval: is not a date`},
	},
	"Now": {
		{`Now()`, `"2024-05-01T12:00:00Z"`}, {`Now() > CDate("2024-01-01")`, `true`}, {`FormatDateTime(Now(),"yyyy")`, `"2024"`},
		{`Now(1)`, `compile: Now takes 0 arguments, got 1`}, {`Now() = [missing]`, `null`}, {`Now() = [empty]`, `false`},
		{`Now() > Split("2024-01-01,2025-01-01",",")`, `[true,false]`},
	},
	"NumFromDate": {
		{`NumFromDate(CDate("2014-09-05 08:14:53"))`, `130543784930000000`}, {`NumFromDate(DateFromNum(0))`, `0`},
		{`NumFromDate(DateFromNum(9223372036854775807))`, `9223372036854775807`},
		{`NumFromDate([missing])`, `null`}, {`NumFromDate([empty])`, `eval: is not a date`},
		{`NumFromDate(Split("1601-01-01,1601-01-02",","))`, `[0,864000000000]`}, {`NumFromDate(5)`, `compile: must be a date`},
	},
	// Directory
	"DNComponent": {
		{`DNComponent([dn],1)`, `"Doe\\, Jane"`}, {`DNComponent(CRef([dn]),2)`, `"Sales"`}, {`DNComponent([dn],9)`, `null`},
		{`DNComponent("CN=a\\0ACNF:1,OU=x",1)`, `"a\\0ACNF:1"`}, {`DNComponent("CN=""q,uoted"",DC=x",1)`, `"\"q,uoted\""`},
		{`DNComponent([missing],1)`, `null`}, {`DNComponent([empty],1)`, `null`}, {`DNComponent([members],1)`, `["A","B"]`},
		{`DNComponent([dn],"one")`, `compile: must be a number`}, {`DNComponent([dn],[str])`, `eval: is not a number`},
	},
	"DNComponentRev": {
		{`DNComponentRev([dn],1)`, `"com"`}, {`DNComponentRev([dn],1,"DC")`, `"Sales"`}, {`DNComponentRev([dn],2,DC)`, `"Doe\\, Jane"`},
		{`DNComponentRev("cn=Joe,ou=Atlanta,ou=GA,ou=US, dc=contoso,dc=com",1,"DC")`, `"US"`}, {`DNComponentRev([dn],0)`, `null`},
		{`DNComponentRev([missing],1)`, `null`}, {`DNComponentRev([empty],1)`, `null`}, {`DNComponentRev([members],2)`, `["A","B"]`},
		{`DNComponentRev([dn],1,"OU")`, `compile: must be one of DC`}, {`DNComponentRev([dn],[str])`, `eval: is not a number`},
	},
	"EscapeDNComponent": {
		{`EscapeDNComponent("CN=" & "Doe, Jane")`, `"CN=Doe\\, Jane"`}, {`EscapeDNComponent("a+b<c>;""d""\\")`, `"a\\+b\\<c\\>\\;\\\"d\\\"\\\\"`},
		{`EscapeDNComponent(" #lead ")`, `"\\ #lead\\ "`}, {`EscapeDNComponent("#x")`, `"\\#x"`}, {`EscapeDNComponent("cn=a" & CRLF)`, `"cn=a\\0D\\0A"`},
		{`EscapeDNComponent("CN=" & [str]) & "," & %Forest.LDAP%`, `"CN=Hello World,DC=contoso,DC=com"`},
		{`EscapeDNComponent([missing])`, `null`}, {`EscapeDNComponent([empty])`, `""`}, {`EscapeDNComponent([mv2])`, `["x","y"]`},
		{`EscapeDNComponent([bin])`, `eval: binary value can't be used as text`},
	},
	// Evaluation
	"IsBitSet": {
		{`IsBitSet(&HF,4)`, `true`}, {`IsBitSet(8,4)`, `false`}, {`IsBitSet([num],5)`, `true`}, {`IsBitSet("514",2)`, `true`},
		{`IsBitSet([missing],2)`, `null`}, {`IsBitSet([empty],2)`, `eval: is not a number`}, {`IsBitSet(Split("2,4",","),2)`, `[true,false]`},
		{`IsBitSet("x",2)`, `compile: must be a number`}, {`IsBitSet([dt],2)`, `eval: is not a number`},
	},
	"IsDate": {
		{`IsDate("2013-01-10")`, `true`}, {`IsDate([dt])`, `true`}, {`IsDate([str])`, `false`}, {`IsDate(5)`, `false`},
		{`IsDate([missing])`, `false`}, {`IsDate([empty])`, `false`}, {`IsDate(Split("2013-01-10,x",","))`, `[true,false]`}, {`IsDate([bin])`, `false`},
	},
	"IsEmpty": {
		{`IsEmpty([empty])`, `true`}, {`IsEmpty([str])`, `false`}, {`IsEmpty([missing])`, `false`}, {`IsEmpty([mv])`, `false`},
		{`IsEmpty(Split(",",","))`, `true`}, {`IsEmpty([num])`, `false`}, {`IsEmpty(vbTextCompare)`, `compile: can only be used as an option`},
	},
	"IsGuid": {
		{`IsGuid("00001111-aaaa-2222-bbbb-3333cccc4444")`, `true`}, {`IsGuid([guidstr])`, `true`}, {`IsGuid([guid])`, `true`},
		{`IsGuid([str])`, `false`}, {`IsGuid([missing])`, `false`}, {`IsGuid([empty])`, `false`},
		{`IsGuid(Split("00001111-aaaa-2222-bbbb-3333cccc4444,x",","))`, `[true,false]`}, {`IsGuid(5)`, `false`},
	},
	"IsNull": {
		{`IsNull([missing])`, `true`}, {`IsNull([empty])`, `false`}, {`IsNull([mv])`, `false`}, {`IsNull(NULL)`, `true`},
		{`IsNull(ItemOrNull([mv],7))`, `true`}, {`IsNull([num])`, `false`}, {`IsNull(IgnoreThisFlow)`, `compile: can only be the result`},
	},
	"IsNullOrEmpty": {
		{`IsNullOrEmpty([missing])`, `true`}, {`IsNullOrEmpty([empty])`, `true`}, {`IsNullOrEmpty([str])`, `false`},
		{`IsNullOrEmpty([mv])`, `false`}, {`IsNullOrEmpty([num])`, `false`}, {`IsNullOrEmpty()`, `compile: IsNullOrEmpty takes 1 argument, got 0`},
	},
	"IsNumeric": {
		{`IsNumeric("42")`, `true`}, {`IsNumeric([num])`, `true`}, {`IsNumeric("&H1F")`, `true`}, {`IsNumeric([str])`, `false`},
		{`IsNumeric([missing])`, `false`}, {`IsNumeric([empty])`, `false`}, {`IsNumeric(Split("1,x",","))`, `[true,false]`}, {`IsNumeric([dt])`, `false`},
	},
	"IsPresent": {
		{`IsPresent([str])`, `true`}, {`IsPresent([missing])`, `false`}, {`IsPresent([empty])`, `false`}, {`IsPresent([mv])`, `true`},
		{`IsPresent([num])`, `true`}, {`IsPresent([bin])`, `true`}, {`IsPresent([str],[str])`, `compile: IsPresent takes 1 argument, got 2`},
	},
	"IsString": {
		{`IsString([str])`, `true`}, {`IsString([num])`, `true`}, {`IsString([dn])`, `true`}, {`IsString([guid])`, `false`},
		{`IsString([missing])`, `false`}, {`IsString([empty])`, `true`}, {`IsString([mv])`, `[true,true,true]`},
	},
	// Math
	"BitAnd": {
		{`BitAnd(&HF,6)`, `6`}, {`BitAnd([num],4)`, `4`}, {`BitAnd([neg],-2147483648)`, `-2147483648`}, {`BitAnd("514",2)`, `2`},
		{`BitAnd([missing],2)`, `null`}, {`BitAnd([empty],2)`, `eval: is not a number`}, {`BitAnd(Split("3,4",","),1)`, `[1,0]`},
		{`BitAnd("x",1)`, `compile: must be a number`}, {`BitAnd([dt],1)`, `eval: is not a number`},
	},
	"BitOr": {
		{`BitOr(1,2)`, `3`}, {`BitOr([num],2)`, `7`}, {`BitOr([missing],2)`, `null`}, {`BitOr([empty],2)`, `eval: is not a number`},
		{`BitOr(Split("1,4",","),2)`, `[3,6]`}, {`BitOr(Now(),1)`, `compile: must be a number`},
	},
	"RandomNum": {
		{`RandomNum(100,999)`, `107`}, {`RandomNum(5,5)`, `5`}, {`RandomNum([missing],5)`, `null`}, {`RandomNum([empty],5)`, `eval: is not a number`},
		{`RandomNum(Split("1,10",","),20)`, `[8,17]`}, {`RandomNum(9,1)`, `eval: end 1 is less than start 9`}, {`RandomNum("a",1)`, `compile: must be a number`},
	},
	// Multi-valued
	"Contains": {
		{`Contains([proxy],"SMTP:")`, `1`}, {`Contains([proxy],"SIP:")`, `3`}, {`Contains([proxy],"sip:")`, `0`},
		{`Contains([proxy],"sip:",CaseInsensitive)`, `3`}, {`Contains([proxy],"sip:","CaseSensitive")`, `0`},
		{`Contains([members],"CN=B,DC=x")`, `2`}, {`Contains([members],"CN=B")`, `0`}, {`Contains([str],"World")`, `1`},
		{`Contains([missing],"x")`, `0`}, {`Contains([empty],"")`, `1`}, {`Contains([proxy],[missing])`, `0`},
		{`Contains([proxy],"x",Sometimes)`, `compile: must be one of CaseInsensitive, CaseSensitive`}, {`Contains([guid],"x")`, `eval: binary value`},
	},
	"Count": {
		{`Count([proxy])`, `4`}, {`Count([str])`, `1`}, {`Count([missing])`, `0`}, {`Count([empty])`, `1`}, {`Count(Split("a,b,c",","))`, `3`},
		{`Count([mv],1)`, `compile: Count takes 1 argument, got 2`},
	},
	"Item": {
		{`Item([proxy],2)`, `"smtp:jd@contoso.com"`}, {`Item([str],1)`, `"Hello World"`}, {`Item([proxy],Contains([proxy],"SMTP:"))`, `"SMTP:jane@contoso.com"`},
		{`Mid(Item([proxy],Contains([proxy], "SMTP:")),6)`, `"jane@contoso.com"`}, {`Item([missing],1)`, `null`}, {`Item([empty],1)`, `""`},
		{`Item([proxy],0)`, `eval: index 0 is out of range`}, {`Item([proxy],5)`, `eval: index 5 is out of range (the attribute has 4 values)`},
		{`Item([proxy],"two")`, `compile: must be a number`}, {`Item([proxy],[str])`, `eval: is not a number`}, {`Item([proxy],[mv2])`, `eval: index must have one value`},
	},
	"ItemOrNull": {
		{`ItemOrNull([proxy],3)`, `"SIP:jane@contoso.com"`}, {`ItemOrNull([proxy],5)`, `null`}, {`ItemOrNull([proxy],0)`, `null`},
		{`ItemOrNull([missing],1)`, `null`}, {`ItemOrNull([empty],1)`, `""`}, {`ItemOrNull([proxy],"x")`, `compile: must be a number`},
	},
	"Join": {
		{`Join([mv2],",")`, `"x,y"`}, {`Join([mv2])`, `"x y"`}, {`Join([mv2],"")`, `"xy"`}, {`Join([mv2],[missing])`, `"xy"`},
		{`Join([str],"-")`, `"Hello World"`}, {`Join([missing],",")`, `null`}, {`Join([empty],",")`, `""`}, {`Join([num])`, `"5"`},
		{`Join([guid])`, `eval: binary value`}, {`Join([mv2],[mv2])`, `eval: the delimiter must have one value`},
	},
	"RemoveDuplicates": {
		{`RemoveDuplicates([proxy])`, `["SMTP:jane@contoso.com","smtp:jd@contoso.com","SIP:jane@contoso.com"]`},
		{`RemoveDuplicates(Trim(ImportedValue("proxy")))`, `"smtp:old@contoso.com"`}, {`RemoveDuplicates([str])`, `"Hello World"`},
		{`RemoveDuplicates([missing])`, `null`}, {`RemoveDuplicates([empty])`, `""`}, {`RemoveDuplicates(Split("1,1,2",","))`, `["1","2"]`},
	},
	"Split": {
		{`Split("a,b,c",",")`, `["a","b","c"]`}, {`Split("a,b,c",",",2)`, `["a","b,c"]`}, {`Split("abc",",")`, `"abc"`},
		{`Split([mv2],",")`, `["x","y"]`}, {`Split([missing],",")`, `null`}, {`Split([empty],",")`, `""`}, {`Split("a",[missing])`, `null`},
		{`Split("a","")`, `eval: the delimiter is empty`}, {`Split("a,b",",",0)`, `eval: limit must be 1 or more`}, {`Split("a",",","x")`, `compile: must be a number`},
	},
	// Program flow
	"Error": {
		{`Error("boom")`, `user: boom`}, {`IIF(IsPresent([str]),[str],Error("AccountName is required"))`, `"Hello World"`},
		{`IIF(IsPresent([missing]),[missing],Error("AccountName is required"))`, `user: AccountName is required`},
		{`Error([missing])`, `user: the expression raised an error`}, {`Error([empty])`, `user: the expression raised an error`},
		{`Error([mv2])`, `user: x`}, {`Error(5)`, `user: 5`}, {`Trim(Error("inner"))`, `user: inner`},
	},
	"IIF": {
		{`IIF(True,"a","b")`, `"a"`}, {`IIF([num]=5,"five",Error("never"))`, `"five"`}, {`IIF([missing]="x","a","b")`, `"b"`},
		{`IIF(IsNullOrEmpty([empty]),IgnoreThisFlow,[empty])`, `"IgnoreThisFlow"`}, {`IIF([boolstr],1,2)`, `1`},
		{`IIF(InStr([proxy],"SIP:")=1,NULL,[proxy])`, `["SMTP:jane@contoso.com","smtp:jd@contoso.com","smtp:jd@contoso.com"]`},
		{`IIF(Left([proxy],4)="smtp",AuthoritativeNull,[proxy])`, `"AuthoritativeNull"`},
		{`IIF(InStr([proxy],"SIP:")=1,[mv2],[proxy])`, `eval: the condition has 4 values but the chosen value has 2`},
		{`IIF([str],1,2)`, `eval: is not a boolean`}, {`IIF("x",1,2)`, `compile: argument 1 of IIF must be a condition`},
		{`IIF(True,1)`, `compile: IIF takes 3 arguments, got 2`},
	},
	"Select": {
		{`Select($item,[mv],Trim($item))`, `["a","b","c"]`}, {`Select($item,[proxy],IIF(Left($item,4)="smtp",NULL,$item))`, `["SMTP:jane@contoso.com","SIP:jane@contoso.com"]`},
		{`Select($x,[mv2],Split($x & "1," & $x & "2",","))`, `["x1","x2","y1","y2"]`}, {`Select($item,[missing],$item)`, `null`},
		{`Select($item,[empty],$item & "!")`, `"!"`}, {`Select($item,[otherPhone],Replace($item,"-",""))`, `null`},
		{`Select(item,[mv],1)`, `compile: argument 1 of Select must be a $variable`}, {`Select($a,[mv],$b)`, `compile: variable $b is not bound`},
		{`Select($a,[mv],IgnoreThisFlow)`, `compile: can only be the result`},
	},
	"Switch": {
		{`Switch([str]="Hello World","en",[str]="Hallo Welt","de",True,Error("Unknown"))`, `"en"`},
		{`Switch([num]=1,"one",[num]=2,"two")`, `null`}, {`Switch(False,1,True,IgnoreThisFlow)`, `"IgnoreThisFlow"`},
		{`Switch(IsPresent([missing]),[missing],IsPresent([str]),[str])`, `"Hello World"`}, {`Switch([empty]="", "empty")`, `"empty"`},
		{`Switch(True,1,Error("conditions are all evaluated"),2)`, `user: conditions are all evaluated`},
		{`Switch([mv2]="x",1)`, `eval: the condition has 2 values`}, {`Switch(True,1,False)`, `compile: Switch takes condition/value pairs`},
		{`Switch("maybe",1)`, `compile: argument 1 of Switch must be a condition`},
	},
	"Where": {
		{`Where($item,[proxy],Left($item,5)="SMTP:")`, `"SMTP:jane@contoso.com"`}, {`Where($c,[cert],CertNotAfter($c)<Now())`, `null`},
		{`Where($item,[missing],True)`, `null`}, {`Where($item,[empty],$item="")`, `""`}, {`Where($item,[mv],[missing])`, `null`},
		{`Where($item,[mv],$item)`, `eval: is not a boolean`}, {`Where($item,[mv],"maybe")`, `compile: argument 3 of Where must be a condition`},
	},
	"With": {
		{`With($x,Trim([padded]),$x & "/" & $x)`, `"Hello/Hello"`}, {`With($u,Where($c,[cert],CertNotAfter($c)<Now()),IIF(Count($u)>0,$u,NULL))`, `null`},
		{`With($x,[missing],IsNull($x))`, `true`}, {`With($x,[empty],Len($x))`, `0`}, {`With($x,[mv],Count($x))`, `3`},
		{`With($x,1,IIF($x=1,IgnoreThisFlow,$x))`, `"IgnoreThisFlow"`}, {`With($x,$x,1)`, `compile: variable $x is not bound`},
	},
	// Text
	"Guid": {
		{`Len(Guid())`, `36`}, {`Mid(Guid(),15,1)`, `"4"`}, {`IsGuid(Guid())`, `true`}, {`Guid() = [missing]`, `null`},
		{`Guid() = [empty]`, `false`}, {`Guid("x")`, `compile: Guid takes 0 arguments, got 1`}, {`GUID()`, `compile: unknown function GUID (names are case-sensitive: did you mean Guid?)`},
	},
	"InStr": {
		{`InStr("The quick brown fox","quick")`, `5`}, {`InStr("abcabc","c",4)`, `6`}, {`InStr("ABC","b")`, `0`}, {`InStr("ABC","b",1,vbTextCompare)`, `2`},
		{`InStr("abc","")`, `1`}, {`InStr("héllo","l")`, `3`}, {`InStr("abc","c",9)`, `0`}, {`InStr([missing],"x")`, `null`}, {`InStr([empty],"x")`, `0`},
		{`InStr([proxy],"SIP:")`, `[0,0,1,0]`}, {`InStr("abc","b",0)`, `eval: start must be 1 or more`}, {`InStr("abc","b",1,vbSometimes)`, `compile: must be one of vbBinaryCompare, vbTextCompare`},
		{`InStr("abc",[guid])`, `eval: binary value`},
	},
	"InStrRev": {
		{`InStrRev("abcabc","c")`, `6`}, {`InStrRev("abcabc","c",5)`, `3`}, {`InStrRev("abcabc","C",-1,vbTextCompare)`, `6`}, {`InStrRev("abc","x")`, `0`},
		{`InStrRev([missing],"x")`, `null`}, {`InStrRev([empty],"x")`, `0`}, {`InStrRev([mv2],"y")`, `[0,1]`}, {`InstrRev("abc","c")`, `compile: did you mean InStrRev?`},
		{`InStrRev("abc","c","x")`, `compile: must be a number`},
	},
	"LCase": {
		{`LCase("TeSt")`, `"test"`}, {`LCase("ÀÉ")`, `"àé"`}, {`LCase([missing])`, `null`}, {`LCase([empty])`, `""`}, {`LCase([mv2])`, `["x","y"]`},
		{`LCase([num])`, `"5"`}, {`LCase([bin])`, `eval: binary value`},
	},
	"Left": {
		{`Left("John Doe", 3)`, `"Joh"`}, {`Left("John", 0)`, `""`}, {`Left("John", -1)`, `"John"`}, {`Left("Jo", 5)`, `"Jo"`}, {`Left("héllo",2)`, `"hé"`},
		{`Left([missing],3)`, `""`}, {`Left([str],[missing])`, `null`}, {`Left([empty],3)`, `""`}, {`Left([mv],2)`, `[" a","b "," c"]`},
		{`Left([bin],2)`, `"base64:AQI="`}, {`Left("abc","x")`, `compile: argument 2 (NumChars) of Left must be a number`}, {`Left("abc",[str])`, `eval: is not a number`},
	},
	"Len": {
		{`Len("John Doe")`, `8`}, {`Len("héllo")`, `5`}, {`Len([bin])`, `3`}, {`Len([num])`, `1`}, {`Len([missing])`, `null`}, {`Len([empty])`, `0`},
		{`Len([mv])`, `[3,2,2]`}, {`Len()`, `compile: Len takes 1 argument, got 0`},
	},
	"LTrim": {
		{`LTrim(" Test ")`, `"Test "`}, {`LTrim([missing])`, `null`}, {`LTrim([empty])`, `""`}, {`LTrim([mv])`, `["a ","b ","c"]`}, {`LTrim([bin])`, `eval: binary value`},
	},
	"Mid": {
		{`Mid("John Doe", 3, 5)`, `"hn Do"`}, {`Mid("John Doe", 6)`, `"Doe"`}, {`Mid("John", 2, 0)`, `""`}, {`Mid("John", 2, -1)`, `"John"`},
		{`Mid("John", 9, 1)`, `"John"`}, {`Mid("John", 0, 1)`, `"John"`}, {`Mid("John", 3, 10)`, `"hn"`}, {`Mid([bin],2,1)`, `"base64:Ag=="`},
		{`Mid([missing],1,1)`, `""`}, {`Mid([empty],1,1)`, `""`}, {`Mid([mv],2,1)`, `["a"," ","c"]`}, {`Mid("abc","x",1)`, `compile: must be a number`},
	},
	"PadLeft": {
		{`PadLeft("User", 10, "0")`, `"000000User"`}, {`PadLeft("User", 2, "0")`, `"User"`}, {`PadLeft("U", 3, " ")`, `"  U"`},
		{`PadLeft([missing], 3, "0")`, `""`}, {`PadLeft([empty], 3, "0")`, `"000"`}, {`PadLeft([mv2], 2, "_")`, `["_x","_y"]`},
		{`PadLeft("U", 3, "")`, `eval: padCharacter must be one character`}, {`PadLeft("U", "x", "0")`, `compile: must be a number`},
	},
	"PadRight": {
		{`PadRight("User", 6, ".")`, `"User.."`}, {`PadRight([missing], 3, "0")`, `""`}, {`PadRight([empty], 2, "0")`, `"00"`},
		{`PadRight([mv2], 2, "_")`, `["x_","y_"]`}, {`PadRight("U", [str], "0")`, `eval: is not a number`},
	},
	"PCase": {
		{`PCase("TEsT")`, `"Test"`}, {`PCase("jOHN  o'neil NASA")`, `"John  O'neil Nasa"`}, {`PCase([missing])`, `null`}, {`PCase([empty])`, `""`},
		{`PCase([mv2])`, `["X","Y"]`}, {`PCase([bin])`, `eval: binary value`},
	},
	"Replace": {
		{`Replace("a-b-c","-","")`, `"abc"`}, {`Replace("One\r\nTwo","\r\n",", ")`, `"One, Two"`}, {`Replace("One" & CRLF & "Two","\r\n",", ")`, `"One, Two"`},
		{`Replace("abc","","x")`, `"abc"`}, {`Replace([missing],"a","b")`, `null`}, {`Replace([empty],"a","b")`, `""`}, {`Replace([mv],"b","B")`, `[" a ","B "," c"]`},
		{`Replace("a",[bin],"b")`, `eval: binary value`},
	},
	"ReplaceChars": {
		{`ReplaceChars("Räksmörgås","Å:A,Ä:A,Ö:O,å:a,ä:a,ö:o")`, `"Raksmorgas"`}, {`ReplaceChars("a-b","-:")`, `"ab"`}, {`ReplaceChars("ab","a:xy, b : z")`, `"xyz"`},
		{`ReplaceChars([missing],"a:b")`, `null`}, {`ReplaceChars([empty],"a:b")`, `""`}, {`ReplaceChars([mv2],"x:1")`, `["1","y"]`},
		{`ReplaceChars("ö","ö,o")`, `eval: malformed pair "ö"`}, {`ReplaceChars("a","ab:c")`, `eval: malformed pair "ab:c"`},
	},
	"Right": {
		{`Right("John Doe", 3)`, `"Doe"`}, {`Right("Jo", 5)`, `"Jo"`}, {`Right("Jo", 0)`, `""`}, {`Right("Jo", -2)`, `"Jo"`}, {`Right([bin],1)`, `"base64:Aw=="`},
		{`Right([missing],1)`, `""`}, {`Right([empty],1)`, `""`}, {`Right([mv],1)`, `[" "," ","c"]`}, {`Right("abc","x")`, `compile: must be a number`},
	},
	"RTrim": {
		{`RTrim(" Test ")`, `" Test"`}, {`RTrim([missing])`, `null`}, {`RTrim([empty])`, `""`}, {`RTrim([mv])`, `[" a","b"," c"]`}, {`RTrim([bin])`, `eval: binary value`},
	},
	"Trim": {
		{`Trim(" Test ")`, `"Test"`}, {`Trim("\t x \n")`, `"x"`}, {`Trim([missing])`, `null`}, {`Trim([empty])`, `""`}, {`Trim([mv])`, `["a","b","c"]`},
		{`Trim([num])`, `"5"`}, {`Trim([bin])`, `eval: binary value`}, {`trim([str])`, `compile: unknown function trim (names are case-sensitive: did you mean Trim?)`},
	},
	"UCase": {
		{`UCase("TeSt")`, `"TEST"`}, {`UCase("straße")`, `"STRAßE"`}, {`UCase([missing])`, `null`}, {`UCase([empty])`, `""`}, {`UCase([mv2])`, `["X","Y"]`},
		{`UCase([bin])`, `eval: binary value`},
	},
	"Word": {
		{`Word("The quick brown fox",3," ")`, `"brown"`}, {`Word("a,,b",2,",")`, `"b"`}, {`Word("a b;c",3," ;")`, `"c"`}, {`Word("a b",3," ")`, `""`},
		{`Word("a b",0," ")`, `""`}, {`Word([proxy],1,":") & "@x"`, `["SMTP@x","smtp@x","SIP@x","smtp@x"]`}, {`Word([missing],1," ")`, `""`},
		{`Word([empty],1," ")`, `""`}, {`Word("a",[missing]," ")`, `null`}, {`Word("a","x"," ")`, `compile: must be a number`},
	},
	// Undocumented
	"ImportedValue": {
		{`ImportedValue("proxy")`, `[" smtp:old@contoso.com ","smtp:old@contoso.com"]`}, {`ImportedValue("missing")`, `null`},
		{`ImportedValue("empty")`, `null`}, {`ImportedValue([proxy])`, `compile: ImportedValue takes the attribute name as a string constant`},
	},
	"ValueCount": {
		{`ValueCount("proxy")`, `4`}, {`ValueCount("missing")`, `0`}, {`ValueCount("empty")`, `1`}, {`ValueCount("mv") + 1`, `4`},
		{`ValueCount(%Domain.FQDN%)`, `compile: ValueCount takes the attribute name as a string constant`},
	},
	"CBin": {
		{`CBin(2,1)`, `"base64:Ag=="`}, {`CBin(32,2)`, `"base64:IAA="`}, {`CBin(-1,2)`, `"base64://8="`}, {`CBin(2,1) & CBin(3,1)`, `"base64:AgM="`},
		{`CBin([missing],1)`, `null`}, {`CBin([empty],1)`, `eval: is not a number`}, {`CBin(Split("1,2",","),1)`, `["base64:AQ==","base64:Ag=="]`},
		{`CBin(256,1)`, `eval: 256 does not fit in 1 bytes`}, {`CBin(1,9)`, `eval: must be 1 to 8`}, {`CBin("x",1)`, `compile: must be a number`},
	},
	"Thumbprint": {
		{`Thumbprint([bin])`, `"base64:` + b64sha256([]byte{1, 2, 3}) + `"`}, {`Len(Thumbprint([bin]))`, `32`}, {`Thumbprint([missing])`, `null`},
		{`Thumbprint([empty])`, `"base64:` + b64sha256(nil) + `"`}, {`Count(Thumbprint(Split("AQ==,Ag==",",")))`, `2`}, {`Thumbprint(5)`, `compile: must be a binary value`},
		{`Thumbprint([str])`, `eval: is not binary`},
	},
}

func b64sha256(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// certCases need the test certificate's hashes.
func certCases(t *testing.T) map[string][]evalCase {
	der := mustCert(t)
	sum := sha1.Sum(der)
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	b64 := base64.StdEncoding.EncodeToString(der)
	str := func(fn, want string) []evalCase {
		return []evalCase{
			{fn + `([cert])`, want},
			{fn + `("` + b64 + `")`, want},
			{fn + `([missing])`, `null`},
			{fn + `([empty])`, `eval: not an X.509 certificate`},
			{fn + `([bin])`, `eval: not an X.509 certificate`},
			{fn + `([str])`, `eval: not an X.509 certificate`}, {fn + `("@@")`, `eval: neither a DER certificate nor Base64 text`},
			{fn + `(5)`, `compile: must be a binary value`},
		}
	}
	mv := func(fn, one string) []evalCase {
		return []evalCase{{`Count(` + fn + `(Split("` + b64 + `,` + b64 + `",",")))`, `2`}}
	}
	cs := map[string][]evalCase{
		"CertFormat":                 str("CertFormat", `"X509"`),
		"CertFriendlyName":           str("CertFriendlyName", `""`),
		"CertHashString":             str("CertHashString", `"`+thumb+`"`),
		"CertThumbprint":             str("CertThumbprint", `"`+thumb+`"`),
		"CertIssuer":                 str("CertIssuer", `"CN=Jane Doe, O=Contoso, C=US"`),
		"CertIssuerDN":               str("CertIssuerDN", `"CN=Jane Doe, O=Contoso, C=US"`),
		"CertSubject":                str("CertSubject", `"CN=Jane Doe, O=Contoso, C=US"`),
		"CertSubjectNameDN":          str("CertSubjectNameDN", `"CN=Jane Doe, O=Contoso, C=US"`),
		"CertIssuerOid":              str("CertIssuerOid", `null`),
		"CertSubjectNameOid":         str("CertSubjectNameOid", `null`),
		"CertKeyAlgorithm":           str("CertKeyAlgorithm", `"1.2.840.10045.2.1"`),
		"CertPublicKeyOid":           str("CertPublicKeyOid", `"1.2.840.10045.2.1"`),
		"CertKeyAlgorithmParams":     str("CertKeyAlgorithmParams", `"06082A8648CE3D030107"`),
		"CertPublicKeyParametersOid": str("CertPublicKeyParametersOid", `"1.2.840.10045.3.1.7"`),
		"CertSerialNumber":           str("CertSerialNumber", `"0102A3"`),
		"CertSignatureAlgorithmOid":  str("CertSignatureAlgorithmOid", `"1.2.840.10045.4.3.2"`),
		"CertVersion":                str("CertVersion", `3`),
		"CertNotAfter":               str("CertNotAfter", `"2025-01-01T00:00:00Z"`),
		"CertNotBefore":              str("CertNotBefore", `"2024-01-01T00:00:00Z"`),
		"CertExtensionOids": {
			{`CertExtensionOids([cert])`, `["2.5.29.15","2.5.29.19"]`}, {`CertExtensionOids([missing])`, `null`},
			{`CertExtensionOids([empty])`, `eval: not an X.509 certificate`}, {`Count(CertExtensionOids(Split("` + b64 + `,` + b64 + `",",")))`, `4`},
			{`CertExtensionOids(5)`, `compile: must be a binary value`},
		},
		"IsCert": {
			{`IsCert([cert])`, `true`}, {`IsCert("` + b64 + `")`, `true`}, {`IsCert([bin])`, `false`}, {`IsCert([missing])`, `false`},
			{`IsCert([empty])`, `false`}, {`IsCert([num])`, `false`}, {`IsCert(Split("` + b64 + `,x",","))`, `[true,false]`},
		},
		"CertNameInfo": {
			{`CertNameInfo([cert],"SimpleName",False)`, `"Jane Doe"`}, {`CertNameInfo([cert],UpnName,False)`, `"jdoe@contoso.com"`},
			{`CertNameInfo([cert],"EmailName",False)`, `"jdoe@contoso.com"`}, {`CertNameInfo([cert],"DnsName",False)`, `"host.contoso.com"`},
			{`CertNameInfo([cert],"DnsFromAlternativeName",False)`, `"host.contoso.com"`}, {`CertNameInfo([cert],"UrlName",False)`, `"https://contoso.com/jdoe"`},
			{`CertNameInfo([cert],"SimpleName",True)`, `"Jane Doe"`}, {`CertNameInfo([cert],"UpnName",True)`, `""`},
			{`CertNameInfo([missing],"SimpleName",False)`, `null`}, {`CertNameInfo([empty],"SimpleName",False)`, `eval: not an X.509 certificate`},
			{`CertNameInfo([cert],"Nickname",False)`, `compile: must be one of SimpleName`}, {`CertNameInfo([cert],"SimpleName","maybe")`, `compile: must be a boolean`},
		},
	}
	cs["Where"] = []evalCase{
		{`Where($c,[cert],CertNotAfter($c)>CDate("2024-06-01"))`, `"base64:` + b64 + `"`},
		{`Where($c,[cert],CertNotAfter($c)>Now())`, `"base64:` + b64 + `"`},
	}
	cs["With"] = []evalCase{{`With($u,Where($c,[cert],CertNotAfter($c)>Now()),IIF(Count($u)>0,$u,NULL))`, `"base64:` + b64 + `"`}}
	for fn := range cs {
		switch fn {
		case "CertExtensionOids", "IsCert", "CertNameInfo", "Where", "With":
		case "CertIssuerOid", "CertSubjectNameOid":
			cs[fn] = append(cs[fn], evalCase{`Count(` + fn + `(Split("` + b64 + `,` + b64 + `",",")))`, `0`})
		default:
			cs[fn] = append(cs[fn], mv(fn, "")...)
		}
	}
	return cs
}

func TestFunctions(t *testing.T) {
	env := testEnv(t)
	all := map[string][]evalCase{}
	for k, v := range funcCases {
		all[k] = v
	}
	for k, v := range certCases(t) {
		all[k] = append(all[k], v...)
	}
	for _, f := range expr.Functions() {
		cases, ok := all[f.Name]
		if !ok {
			t.Errorf("no test cases for %s", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			for _, c := range cases {
				c.run(t, env, nil)
			}
		})
	}
	for name := range all {
		found := false
		for _, f := range expr.Functions() {
			found = found || f.Name == name
		}
		if !found {
			t.Errorf("test cases for unknown function %s", name)
		}
	}
}
