import VlatuneSupport

/// The source formats `dataset prepare` knows by name.
public enum SourceFormat: String, Sendable, CaseIterable {
  /// Detect from the content.
  case auto
  /// vlatune's simple recorder format (CONTRACT §6).
  case episodes
  /// LeRobotDataset v2.x / v3.0.
  case lerobot
  /// robomimic / ALOHA HDF5.
  case hdf5
  /// RLDS / TFDS TFRecords.
  case rlds
  /// A folder of per-episode NumPy `.npz` dumps (simulators).
  case npz
}
