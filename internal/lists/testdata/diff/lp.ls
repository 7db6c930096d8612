postmaster: pm
abuse:
