// Native.cs - the P/Invoke surface of libgcdump's writer (dumpfmt/gcdump.h) that the converter uses.
// Owns: finding libgcdump.so (beside the converter's folder: build/lib or LIBDIR) and the Writer wrapper.
using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace GcDump.DotNet
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct WriterOpts
    {
        public int Level;
        public int Threads;
        public UIntPtr FrameSize;
        public UIntPtr MetaBuffer;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct HeaderFields
    {
        public uint Flags;
        public uint Pid;
        public ulong CreatedNs;
    }

    internal static unsafe class Native
    {
        private const string Lib = "gcdump";

        // The converter lives in LIBDIR/gcdump-dotnet/ (installed) or build/lib/gcdump-dotnet/ (build tree):
        // libgcdump.so is one folder up in both. GCDUMP_LIB names another file (tests only).
        internal static void Install()
        {
            NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
        }

        private static IntPtr Resolve(string name, Assembly asm, DllImportSearchPath? path)
        {
            if (name != Lib)
                return IntPtr.Zero;
            string env = Environment.GetEnvironmentVariable("GCDUMP_LIB");
            string[] tries = {
                string.IsNullOrEmpty(env) ? null : env,
                Path.Combine(AppContext.BaseDirectory, "..", "libgcdump.so"),
                Path.Combine(AppContext.BaseDirectory, "..", "libgcdump.so.0"),
            };
            foreach (string t in tries)
                if (t != null && File.Exists(t) && NativeLibrary.TryLoad(t, out IntPtr h))
                    return h;
            if (NativeLibrary.TryLoad("libgcdump.so.0", asm, path, out IntPtr h2))
                return h2;
            throw new ConvertException("cannot load libgcdump.so (looked in " + Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..")) + ")");
        }

        [DllImport(Lib)] internal static extern int gcd_writer_open(byte[] path, ref WriterOpts opts, ref HeaderFields hdr, out IntPtr w);
        [DllImport(Lib)] internal static extern int gcd_list_begin(IntPtr w, uint kind);
        [DllImport(Lib)] internal static extern void gcd_put_u32(IntPtr w, uint v);
        [DllImport(Lib)] internal static extern void gcd_put_u64(IntPtr w, ulong v);
        [DllImport(Lib)] internal static extern void gcd_put_strn(IntPtr w, byte* s, UIntPtr n);
        [DllImport(Lib)] internal static extern int gcd_record_end(IntPtr w);
        [DllImport(Lib)] internal static extern int gcd_list_end(IntPtr w);
        [DllImport(Lib)] internal static extern int gcd_write_memory(IntPtr w, ulong addr, byte* data, UIntPtr len);
        [DllImport(Lib)] internal static extern int gcd_writer_finish(IntPtr w);
        [DllImport(Lib)] internal static extern void gcd_writer_abort(IntPtr w);
        [DllImport(Lib)] internal static extern IntPtr gcd_writer_error(IntPtr w);
        [DllImport(Lib)] internal static extern IntPtr gcd_rc_name(int rc);
    }

    // Chunk kinds, header and type flags of docs/format.md.
    internal static class K
    {
        public const uint Process = 1, Reason = 2, Runtime = 3, Types = 4, Methods = 5, Segments = 6, Threads = 7,
                          Frames = 8, Statics = 9, ThreadStatics = 10, Handles = 11, Finq = 12, Freachable = 13,
                          StaticAddresses = 17;
        public const uint HfClr = 2;
        public const uint TfFinalizable = 1, TfDelegate = 2, TfArray = 4, TfString = 8, TfFree = 16, TfBoxed = 32,
                          TfValueArray = 128;
    }

    // One libgcdump writer: every call checks its result and turns a failure into a ConvertException.
    internal sealed unsafe class Writer : IDisposable
    {
        private IntPtr w;
        private readonly string path;

        public Writer(string path, uint flags, uint pid, int level, int threads)
        {
            this.path = path;
            var o = new WriterOpts { Level = level, Threads = threads };
            var h = new HeaderFields { Flags = flags, Pid = pid,
                                       CreatedNs = (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100 };
            int rc = Native.gcd_writer_open(Z(path), ref o, ref h, out w);
            if (rc != 0)
                throw new ConvertException(path + ": cannot write: " + Marshal.PtrToStringUTF8(Native.gcd_rc_name(rc)));
        }

        private static byte[] Z(string s)
        {
            byte[] b = Encoding.UTF8.GetBytes(s);
            Array.Resize(ref b, b.Length + 1);
            return b;
        }

        private void Check(int rc)
        {
            if (rc == 0)
                return;
            string e = Marshal.PtrToStringUTF8(Native.gcd_writer_error(w));
            throw new ConvertException(path + ": " + (string.IsNullOrEmpty(e) ? Marshal.PtrToStringUTF8(Native.gcd_rc_name(rc)) : e));
        }

        public void Begin(uint kind) => Check(Native.gcd_list_begin(w, kind));
        public void U32(uint v) => Native.gcd_put_u32(w, v);
        public void U64(ulong v) => Native.gcd_put_u64(w, v);
        public void Str(string s)
        {
            byte[] b = Encoding.UTF8.GetBytes(s ?? "");
            int n = Math.Min(b.Length, 65536);
            while (n > 0 && n < b.Length && (b[n] & 0xC0) == 0x80)
                n--; // cut on a character boundary
            fixed (byte* p = b)
                Native.gcd_put_strn(w, p, (UIntPtr)n);
        }
        public void End() => Check(Native.gcd_record_end(w));
        public void EndList() => Check(Native.gcd_list_end(w));
        public void Memory(ulong addr, byte[] data, int len)
        {
            fixed (byte* p = data)
                Check(Native.gcd_write_memory(w, addr, p, (UIntPtr)len));
        }
        public void Finish()
        {
            Check(Native.gcd_writer_finish(w));
            w = IntPtr.Zero;
        }
        public void Dispose()
        {
            if (w != IntPtr.Zero)
                Native.gcd_writer_abort(w);
            w = IntPtr.Zero;
        }
    }

    internal sealed class ConvertException : Exception
    {
        public ConvertException(string m) : base(m) { }
    }
}
