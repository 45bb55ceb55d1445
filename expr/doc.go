// Package expr implements the sync-rule expression language of Microsoft
// Entra Connect Sync ("declarative provisioning"): a VBA-like language of
// nested function calls over the attributes of the object being
// synchronized.
//
//	IIF(IsPresent([givenName]),Trim([givenName]) & " " & UCase(Left([sn],1)),NULL)
//
// Compile parses an expression and checks it (unknown functions, wrong
// argument counts or types, unbalanced parentheses, unknown parameters
// are errors with a line and column); the resulting Program is immutable
// and is evaluated many times, from any number of goroutines, against an
// Env that supplies attribute values and rule parameters.
//
// # Language
//
//   - attributes [givenName], [mS-DS-ConsistencyGuid]; names are case-sensitive
//   - parameters %Domain.FQDN% (see Options.Params)
//   - strings "text": "" is a quote; \\, \n, \r and \t are a backslash, LF,
//     CR and tab; other backslashes are kept as written
//   - numbers 42 and &HFF (64-bit integers)
//   - constants True, False, NULL, CRLF, IgnoreThisFlow, AuthoritativeNull
//   - $variables bound by Select, Where and With
//   - option names where a function takes them: UTF8, vbTextCompare, CaseInsensitive, DC …
//   - operators = <> < <= > >= + - * / & && ||, and parentheses; all operators
//     have the same priority and are evaluated from left to right (2+5*3 is 21),
//     unless Options.Precedence says otherwise
//   - white space, including newlines, between any tokens
//
// # Values
//
// Every expression yields a list of values: NULL is the empty list, and a
// single value is a list of one. A function of one value applied to
// several values applies to each, and a NULL result drops that value, so
// IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses]) removes the
// SIP addresses. Functions such as Count, Item, Join, Contains and
// RemoveDuplicates take the whole list. NULL in arithmetic and comparisons
// gives NULL; conditions treat NULL as False; & treats it as "".
//
// The two flags IgnoreThisFlow and AuthoritativeNull may only be the result
// of the expression (directly or through IIF, Switch and With); they come
// back in Result.Flag.
//
// # Errors
//
// Compile returns *Error. Eval returns *UserError for Error("msg"), which the
// engine reports as a sync error on the object, and *EvalError for other
// failures, such as text that is not a number or an Item index out of
// range.
//
// docs/expressions.md lists every function and where idsync differs from
// the reference.
package expr
