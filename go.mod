module github.com/exigo-mta/exigo

go 1.26.0

require (
	github.com/dlclark/regexp2 v1.12.0
	golang.org/x/net v0.57.0
	golang.org/x/sys v0.49.0
	golang.org/x/text v0.44.0
)
