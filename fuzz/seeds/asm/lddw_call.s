lddw %r1, 0x1122334455667788
call 1
call local func
exit
func:
mov %r0, 7
exit
