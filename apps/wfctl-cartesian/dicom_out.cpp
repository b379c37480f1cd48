#include "dicom_out.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "atomic_file.hpp"
#include "failure.hpp"

namespace cartesian {

namespace {

std::string new_uid(const char* root) {
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, root);
  return uid;
}

}  // namespace

void write_dicom(const MagnitudeImage& image, const std::string& path, const DicomLabels& labels) {
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  OFCondition status = EC_Normal;
  auto put = [&](const DcmTagKey& tag, const std::string& value) {
    if (status.good()) status = ds->putAndInsertString(tag, value.c_str());
  };
  auto put16 = [&](const DcmTagKey& tag, std::size_t value) {
    if (status.good()) status = ds->putAndInsertUint16(tag, static_cast<Uint16>(value));
  };

  OFString date, time;
  DcmDate::getCurrentDate(date);
  DcmTime::getCurrentTime(time);
  const std::string record = labels.record_id ? std::to_string(*labels.record_id) : "";

  put(DCM_SOPClassUID, UID_MRImageStorage);
  put(DCM_SOPInstanceUID, new_uid(SITE_INSTANCE_UID_ROOT));
  put(DCM_StudyInstanceUID, new_uid(SITE_STUDY_UID_ROOT));
  put(DCM_SeriesInstanceUID, new_uid(SITE_SERIES_UID_ROOT));
  put(DCM_FrameOfReferenceUID, new_uid(SITE_INSTANCE_UID_ROOT));
  put(DCM_Modality, "MR");
  put(DCM_ImageType, "DERIVED\\PRIMARY\\M");
  put(DCM_Manufacturer, "wfctl");
  put(DCM_PatientName, "wfctl^phantom");
  put(DCM_PatientID, labels.record_id ? "record-" + record : "wfctl-cartesian");
  put(DCM_PatientBirthDate, "");
  put(DCM_PatientSex, "");
  put(DCM_StudyDate, date.c_str());
  put(DCM_StudyTime, time.c_str());
  put(DCM_SeriesDate, date.c_str());
  put(DCM_SeriesTime, time.c_str());
  put(DCM_ContentDate, date.c_str());
  put(DCM_ContentTime, time.c_str());
  put(DCM_ReferringPhysicianName, "");
  put(DCM_StudyID, "1");
  // AccessionNumber is at most 16 characters: a record id of more digits is in PatientID only.
  put(DCM_AccessionNumber, record.size() <= 16 ? record : "");
  put(DCM_StudyDescription, "wfctl-cartesian example reconstruction");
  put(DCM_SeriesDescription, labels.record_id ? "record " + record : "wfctl-cartesian magnitude");
  put(DCM_SeriesNumber, "1");
  put(DCM_InstanceNumber, "1");
  put(DCM_PositionReferenceIndicator, "");
  put(DCM_ScanningSequence, "RM");  // research mode: no acquisition is described
  put(DCM_SequenceVariant, "NONE");
  put(DCM_ScanOptions, "");
  put(DCM_MRAcquisitionType, "2D");
  put(DCM_EchoTime, "");
  put(DCM_EchoTrainLength, "");
  put(DCM_ImagePositionPatient, "0\\0\\0");
  put(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
  put(DCM_PixelSpacing, "1\\1");
  put(DCM_SliceThickness, "");
  put(DCM_ImageComments,
      "magnitude of the centred inverse 2-D FFT, normalised by 1/(rows*columns); "
      "magnitude = pixel * RescaleSlope + RescaleIntercept");

  put16(DCM_SamplesPerPixel, 1);
  put(DCM_PhotometricInterpretation, "MONOCHROME2");
  put16(DCM_Rows, image.rows);
  put16(DCM_Columns, image.cols);
  put16(DCM_BitsAllocated, 16);
  put16(DCM_BitsStored, 16);
  put16(DCM_HighBit, 15);
  put16(DCM_PixelRepresentation, 0);
  put(DCM_RescaleIntercept, decimal_string(image.intercept));
  put(DCM_RescaleSlope, decimal_string(image.slope));
  put(DCM_RescaleType, "US");  // unspecified: the magnitude has the k-space's arbitrary units
  // The window is in rescaled (magnitude) units and may be narrower than 1, which only
  // LINEAR_EXACT allows; it maps the smallest magnitude to black and the largest to white.
  const double lo = image.intercept, hi = image.intercept + 65535 * image.slope;
  const bool constant = !(image.max > image.min);
  put(DCM_WindowCenter, decimal_string(constant ? lo + 0.5 : (lo + hi) / 2));
  put(DCM_WindowWidth, decimal_string(constant ? 1.0 : hi - lo));
  put(DCM_VOILUTFunction, "LINEAR_EXACT");
  if (status.good()) {
    status = ds->putAndInsertUint16Array(DCM_PixelData, image.pixels.data(),
                                         static_cast<unsigned long>(image.pixels.size()));
  }
  if (status.bad()) throw Failure(Exit::other, "writing " + path + ": DCMTK: " + status.text());

  AtomicFile out(path);
  status = file.saveFile(out.temp_path().c_str(), EXS_LittleEndianExplicit);
  if (status.bad()) throw Failure(Exit::other, "writing " + path + ": DCMTK: " + status.text());
  out.commit();
}

}  // namespace cartesian
