module github.com/exigo-mta/exigo

go 1.26
