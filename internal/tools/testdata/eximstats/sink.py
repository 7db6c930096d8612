# A loopback SMTP sink: RCPT local parts starting "rej" get 550, "def" 451, others 250.
import socketserver
class H(socketserver.StreamRequestHandler):
    def w(self, s): self.wfile.write((s + "\r\n").encode())
    def handle(self):
        self.w("220 sink ESMTP")
        data = False
        while True:
            l = self.rfile.readline()
            if not l: return
            s = l.decode("latin1").rstrip("\r\n")
            if data:
                if s == ".": data = False; self.w("250 OK id=sink")
                continue
            u = s.upper()
            if u.startswith("EHLO"): self.w("250-sink\r\n250 PIPELINING"[0:0] + "250 sink")
            elif u.startswith("HELO"): self.w("250 sink")
            elif u.startswith("MAIL"): self.w("250 OK")
            elif u.startswith("RCPT"):
                lp = s.split("<",1)[1].lower()
                if lp.startswith("rej"): self.w("550 No such user here")
                elif lp.startswith("def"): self.w("451 Try again later")
                else: self.w("250 Accepted")
            elif u.startswith("DATA"): data = True; self.w("354 go")
            elif u.startswith("QUIT"): self.w("221 bye"); return
            elif u.startswith("RSET"): self.w("250 OK")
            else: self.w("500 what")
class S(socketserver.ThreadingTCPServer): allow_reuse_address = True
S(("127.0.0.1", 2525), H).serve_forever()
