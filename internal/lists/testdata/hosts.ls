mail.friend.example: byname
192.0.2.2: byaddr
192.0.2.0/24: bynet
