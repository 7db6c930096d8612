1.2.3.4: ipdata
10.0.0.0/8: netdata
"2001:db8::1": v6data
