module github.com/exigo-mta/exigo

go 1.26.0

require github.com/dlclark/regexp2 v1.12.0

require (
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
