#!/usr/bin/env python3
"""Bytes per added idle device by allocation site, from two peak-heap profiles
written by heap-idle.sh (e.g. at 1,000 and 19,000 devices): the difference
divided by the devices added, so start-up and per-process costs cancel out.

Usage: heap-sites.py SMALL.folded LARGE.folded SMALL_DEVICES LARGE_DEVICES ROWS

A site is the innermost frame that is not an allocator or container helper,
with the two frames that called it.
"""
import sys,re,collections
SKIP={'alloc','alloc_impl','alloc_impl_runtime','allocate','try_allocate_in','with_capacity_in','with_capacity','new','from','reserve','grow','grow_amortized','finish_grow','do_reserve_and_handle','reserve_rehash','push','push_back','clone','default','malloc','realloc','calloc','operator new','box_new_uninit','insert','into','to_vec','extend','resize','spec_extend','extend_desugared','from_iter','collect','reserve_inner','grow_one','reserve_for_push','prepare_resize','fallible_with_capacity','new_uninitialized','clone_from_slice','to_owned','try_reserve','try_with_capacity','with_capacity_and_hasher','new_in','entry','insert_entry','__rust_alloc','__rust_realloc','allocate_in','exchange_malloc','with_hasher','rehash_in_place','resize_inner','call_once','poll','make_mut','spawn','spawn_inner','bind','map','call','{closure#0}','{closure#1}','copy_to_bytes','split_to','reserve_one_unchecked','vec','from_elem','try_grow'}
def site(stack):
    frames=[f for f in stack.split(';') if f.strip()]
    for i in range(len(frames)-1,-1,-1):
        f=frames[i]
        name,_,file=f.partition(' (')
        fn=re.sub(r'<.*','',name).strip()
        if fn in SKIP or fn.startswith('{'): continue
        ctx=[]
        for g in frames[max(0,i-2):i]:
            n2,_,f2=g.partition(' (')
            ctx.append(re.sub(r'<.*','',n2).strip()+'('+f2.rstrip(')')+')')
        return f"{fn} ({file.rstrip(')')})  <- " + " <- ".join(reversed(ctx))
    return 'unknown'
def load(p):
    c=collections.Counter()
    for line in open(p):
        stack,_,cost=line.rstrip('\n').rpartition(' ')
        try: cost=int(cost)
        except: continue
        c[site(stack)]+=cost
    return c
a=load(sys.argv[1]); b=load(sys.argv[2]); na=int(sys.argv[3]); nb=int(sys.argv[4])
tot=(sum(b.values())-sum(a.values()))/(nb-na)
print(f"peak heap per added device ({na} -> {nb} devices): {tot:.0f} B")
rows=[(k,(b[k]-a[k])/(nb-na)) for k in set(a)|set(b)]
rows.sort(key=lambda r:-r[1])
for k,v in rows[:int(sys.argv[5])]:
    print(f"{v:7.0f} B  {k[:170]}")
